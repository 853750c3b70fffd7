"""SQL statements per request, counted (deterministic, unlike time): the hot
requests stay within their budget on SQLite and PostgreSQL, whatever the
number of implied licenses or the size of the group, and no statement runs
twice in one request. Transaction control (BEGIN, COMMIT) is not counted."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.scim_client import LICENSING, Clock, live_tenant

# A response showing users who hold licenses reads the tenant's license rows
# once more (one statement) to show licenses whose rows fail verification as
# stopped (scimsrv.services.users.working).
# A write's budget includes the one INSERT of its audit log entry.
BUDGET = {
    "lookup by userName": 3,
    "lookup of a licensed user": 4,
    "GET by id": 4,
    "member add to a plan group": 16,
    "POST /Users without plan": 6,
    "list page of 100": 5,
}


@contextmanager
def counted(db):
    """The statements run inside the block, BEGIN and friends left out."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def within(what: str, seen: list[str]) -> None:
    assert len(seen) <= BUDGET[what], f"{what}: {len(seen)} statements:\n" + "\n---\n".join(seen)
    assert len(set(seen)) == len(seen), f"{what}: a statement ran twice"


@pytest.fixture
def tenant(db, tenant_id):
    client, scim = live_tenant(db, tenant_id, Clock(), seats=200)
    with client:
        yield scim


def test_read_requests_stay_within_their_budget(db, tenant):
    users = [tenant.user(f"user{i:03d}@example.com") for i in range(120)]
    group = tenant.group("Sales-Premium", [u["id"] for u in users[:5]])
    assert group["members"]
    with counted(db) as seen:
        found = tenant.ok("GET", "/Users", filter='userName eq "USER007@example.com"')
    assert found["totalResults"] == 1
    within("lookup by userName", seen)
    with counted(db) as seen:
        found = tenant.ok("GET", "/Users", filter='userName eq "USER001@example.com"')
    assert found["Resources"][0][LICENSING]["state"] == "licensed"
    within("lookup of a licensed user", seen)
    with counted(db) as seen:
        user = tenant.ok("GET", f"/Users/{users[1]['id']}")
    assert user[LICENSING]["state"] == "licensed" and user["groups"]
    within("GET by id", seen)
    with counted(db) as seen:
        page = tenant.ok("GET", "/Users", startIndex=2, count=100)
    assert page["itemsPerPage"] == 100
    within("list page of 100", seen)


def test_post_user_without_a_plan_stays_within_its_budget(db, tenant):
    with counted(db) as seen:
        created = tenant.user("newcomer@example.com", displayName="New Comer")
    assert created[LICENSING] == {"state": "none"}
    within("POST /Users without plan", seen)


@pytest.mark.parametrize("plan", ["Sales-Essentials", "Sales-Premium", "Marketing-Premium"])
def test_member_add_costs_the_same_whatever_the_implied_licenses(db, tenant, plan):
    """Sales-Premium implies 18 hidden licenses, Sales-Essentials fewer: one budget;
    Marketing-Premium upgrades the user's Marketing-Essentials (releases too)."""
    members = [tenant.user(f"m{i}@example.com")["id"] for i in range(30)]
    big = tenant.group(plan, members[:25])
    newcomer = tenant.user("moving@example.com")
    tenant.group("Marketing-Essentials", [newcomer["id"]])  # holds user/web already
    with counted(db) as seen:
        tenant.patch(
            f"/Groups/{big['id']}",
            {"op": "add", "path": "members", "value": [{"value": newcomer["id"]}]},
        )
    assert plan in tenant.licensing(newcomer["id"])["basePlans"]
    within("member add to a plan group", seen)
    assert tenant.problems() == []
