"""Billing you can invoice from (issue 11), over HTTP on SQLite and PostgreSQL: each
case is a small input that once gave a wrong invoice or a stuck user.

1. ids are never handed out again, and the history names who held a license;
2. "bought" in a past period is the license set in force then;
3. no edit of an unsigned value lifts the seat limit;
4. after the grace date every release still works (read-only stops grants only);
5. a tampered row stops working for every holder at once, and works again restored;
6. waiting users are served when what blocked them goes away (reconcile);
7. the check lists every problem, not the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from licensing_core import signing
from licensing_core.activation import import_license_set
from licensing_core.signing import KeyRing
from licensing_core.tables import LedgerEntry, LicenseAssocLink, ModuleLicense
from licensing_core.usage import usage_report
from scimsrv.http.app import create_app
from scimsrv.services import tenants
from scimsrv.services.transaction import Service
from scimsrv.settings import Settings
from tests.licensing_helpers import make_tenant, signed_set
from tests.scim_client import LICENSING, Clock, Operator, Tenant, live_tenant
from tests.use_cases import run

START = datetime(2026, 11, 1, 12, 0)


@pytest.fixture
def world(db, tenant_id):
    """A tenant with 3 Sales-Premium seats (10 of every other plan) from START;
    its SCIM API, the operator's admin API and the clock."""
    clock = Clock(START)
    client, scim = live_tenant(db, tenant_id, clock, seats={"Sales-Premium": 3})
    with client:
        yield scim, Operator(client, db, tenant_id), clock


def add(scim: Tenant, group: dict, *users: dict) -> None:
    value = [{"value": u["id"]} for u in users]
    scim.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": value})


def remove(scim: Tenant, group: dict, user: dict) -> None:
    path = f'members[value eq "{user["id"]}"]'
    scim.patch(f"/Groups/{group['id']}", {"op": "remove", "path": path})


def report(operator: Operator, period: str, **params) -> dict:
    return operator.ok("GET", "/reports/usage", period=period, **params)


def plan(body: dict, name: str) -> dict:
    return next(p for p in body["plans"] if p["name"] == name)


# ----------------------------------------------------------------- 1. identity


def test_a_deleted_users_id_is_never_handed_to_the_next_user(world, db):
    scim, operator, clock = world
    users = [scim.user(f"u{i}") for i in range(1, 10)]
    u9 = users[-1]
    group = scim.group("Sales-Premium", [u9["id"]])
    scim.ok("DELETE", f"/Users/{u9['id']}")
    u10 = scim.user("u10")
    add(scim, group, u10)

    with db.read() as session:
        ledger = session.execute(
            select(
                LedgerEntry.assoc_id, LedgerEntry.user_name, LedgerEntry.scim_id, LedgerEntry.event
            )
            .where(
                LedgerEntry.tenant_id == scim.tenant_id, LedgerEntry.module_name == "sales-premium"
            )
            .order_by(LedgerEntry.id)
        ).all()
    # u9's grant and release, then u10's grant: two people, two ids, named by value.
    assert [(name, scim_id, event) for _, name, scim_id, event in ledger] == [
        ("u9", u9["id"], "grant"),
        ("u9", u9["id"], "release"),
        ("u10", u10["id"], "grant"),
    ]
    assert ledger[0][0] != ledger[2][0]

    clock.now = datetime(2026, 12, 2)
    body = report(operator, "2026-11")
    assert plan(body, "Sales-Premium")["users"] == 2
    assert body["users"]["users"] == 2
    explained = report(operator, "2026-11", explain="Sales-Premium")
    assert [(row["name"], row["scim_id"], row["to"] is None) for row in explained] == [
        ("u9", u9["id"], False),
        ("u10", u10["id"], True),
    ]


def test_a_change_that_waited_for_the_plan_lock_is_recorded_after_the_one_before(world, db):
    """On PostgreSQL a transaction that began first may take the plan lock
    second; its changes must still be recorded after the ones it waited for,
    or a replay in time order bills a released license and lists a served
    user as waiting. The clock going back stands for that begin-first,
    lock-second order, deterministically."""
    scim, operator, clock = world
    group = scim.group("Sales-Premium")
    users = [scim.user(f"w{i}") for i in range(4)]
    clock.now = START + timedelta(seconds=10)
    add(scim, group, *users)  # three seats: w3 waits
    clock.now = START + timedelta(seconds=5)
    remove(scim, group, users[0])  # w0 releases, w3 is served
    scim.ok("DELETE", f"/Users/{users[1]['id']}")
    with db.read() as session:
        stamps = session.execute(
            select(LedgerEntry.at)
            .where(LedgerEntry.tenant_id == scim.tenant_id)
            .order_by(LedgerEntry.id)
        ).scalars()
        stamps = list(stamps)
    assert stamps == sorted(stamps)

    clock.now = datetime(2026, 12, 2)
    body = report(operator, "2026-11")
    assert plan(body, "Sales-Premium")["in_use_at_end"] == 2
    assert body["pending"]["at_end"] == 0
    explained = report(operator, "2026-11", explain="Sales-Premium")
    held = sorted(row["name"] for row in explained if row["to"] is None)
    assert held == ["w2", "w3"]
    assert operator.ok("GET", "/check")["consistent"] is True


# ------------------------------------------------------------ 2. bought history


def test_bought_in_a_past_period_is_the_set_in_force_then(world):
    scim, operator, clock = world
    holders = [scim.user(f"h{i}") for i in range(2)]
    scim.group("Sales-Premium", [h["id"] for h in holders])

    clock.now = datetime(2026, 12, 5)
    five = operator.import_set(signed_set({"Sales-Premium": 5}, serial_number="SN-5"))
    assert five.status_code == 200, five.text
    clock.now = datetime(2026, 12, 20)
    four = operator.import_set(signed_set({"Sales-Premium": 4}, serial_number="SN-4"))
    assert four.status_code == 200, four.text
    clock.now = datetime(2027, 1, 10)

    november = report(operator, "2026-11")
    assert november["period"]["status"] == "complete"
    assert plan(november, "Sales-Premium")["bought"] == 3
    assert plan(november, "Sales-Premium")["bought_most"] == 3
    assert [v["serial_number"] for v in november["license_sets"]] == [""]  # the default set

    december = report(operator, "2026-12")
    assert plan(december, "Sales-Premium")["bought"] == 4  # at period end
    assert plan(december, "Sales-Premium")["bought_most"] == 5  # most during it
    assert [v["serial_number"] for v in december["license_sets"]] == ["", "SN-5", "SN-4"]
    assert december["license_sets"][1]["installed_by"].startswith("token ")

    before = report(operator, "2026-10")
    assert before["period"]["status"] == "before the tenant existed"
    assert before["period"]["complete"] is False
    assert plan(before, "Sales-Premium")["bought"] == 0
    future = report(operator, "2027-03")
    assert future["period"]["status"] == "future" and future["period"]["complete"] is False
    january = report(operator, "2027-01")
    assert january["period"]["status"] == "in progress"
    assert plan(january, "Sales-Premium")["bought"] == 4


def test_a_set_the_server_does_not_trust_counts_no_seats_bought(db, tenant_id):
    """A tenant starts with the built-in set signed with the TEST key; on a
    server that trusts only the vendor's key nothing could be granted from
    it, so it must not raise "bought" (it did: "3 (max 10)")."""
    vendor = signing.generate_key()
    vendor_only = KeyRing.of([vendor.public])
    make_tenant(db, tenant_id, seats=10, at=START)
    with db.write() as session:
        import_license_set(
            session,
            tenant_id,
            signed_set({"Sales-Premium": 3}, key=vendor, serial_number="V-1"),
            at=START + timedelta(hours=1),
            keyring=vendor_only,
        )
    with db.read() as session:
        body = usage_report(
            session, tenant_id, "2026-11", as_of=datetime(2026, 12, 2), keyring=vendor_only
        ).to_json()
    assert (plan(body, "Sales-Premium")["bought"], plan(body, "Sales-Premium")["bought_most"]) == (
        3,
        3,
    )
    assert [(v["serial_number"], v["trusted"]) for v in body["license_sets"]] == [
        ("", False),
        ("V-1", True),
    ]
    [problem] = body["license_problems"]
    assert "does not trust" in problem and "count as 0" in problem


def test_a_period_counted_to_a_future_moment_reads_in_progress(world):
    scim, operator, clock = world
    scim.group("Sales-Premium", [scim.user("f0")["id"]])
    clock.now = datetime(2026, 11, 20)
    body = report(operator, "2026-11", asOf="2030-01-01T00:00:00")
    assert body["period"]["status"] == "in progress"
    assert body["period"]["counted_until"].startswith("2026-11-20T00:00")


def test_a_tenant_deleted_within_a_period_had_no_seats_bought_at_its_end(world):
    scim, operator, clock = world
    scim.group("Sales-Premium", [scim.user("d0")["id"]])
    clock.now = START + timedelta(days=5)
    assert operator.request("DELETE", "").status_code == 200
    clock.now = datetime(2026, 12, 2)
    body = report(operator, "2026-11")
    sales = plan(body, "Sales-Premium")
    assert (sales["bought"], sales["bought_most"], sales["in_use_at_end"]) == (0, 3, 0)
    assert sales["users"] == 1
    assert body["license_problems"] == []


# ------------------------------------------------------------------ 3. seat limit


def test_editing_unsigned_values_cannot_lift_the_seat_limit(world, db):
    scim, operator, _ = world
    group = scim.group("Sales-Premium")
    users = [scim.user(f"s{i}") for i in range(6)]
    add(scim, group, *users[:3])
    with db.write() as session:
        # The links of the three holders say they occupy nothing.
        session.execute(
            update(LicenseAssocLink)
            .where(LicenseAssocLink.tenant_id == scim.tenant_id)
            .values(license_number=0)
        )
    add(scim, group, *users[3:])
    states = [scim.licensing(u["id"])["state"] for u in users]
    assert states == ["licensed"] * 3 + ["pending"] * 3
    status = operator.ok("GET", "/license-set")
    seats = {m["module"]: m for m in status["modules"]}["sales-premium"]
    assert (seats["bought"], seats["inUse"], seats["free"]) == (3, 3, 0)
    with db.read() as session:
        held = session.execute(
            select(LicenseAssocLink.assoc_id)
            .join(
                ModuleLicense,
                (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
                & (ModuleLicense.id == LicenseAssocLink.module_license_id),
            )
            .where(
                LicenseAssocLink.tenant_id == scim.tenant_id,
                ModuleLicense.module_name == "sales-premium",
            )
        ).all()
    assert len(held) == 3
    # The edit itself is reported: the ledger no longer replays to the links.
    assert "ledger does not replay to the current links" in operator.ok("GET", "/check")["problems"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE license_ledger SET at = at WHERE tenant_id = :t",
        'UPDATE license_ledger SET "licenseNumber" = 0 WHERE tenant_id = :t',
        "UPDATE plan_state_log SET state = 'none' WHERE tenant_id = :t",
        'UPDATE license_set_seats SET "licenseNumber" = 100 WHERE tenant_id = :t',
        "UPDATE license_set_version SET effective_to = NULL WHERE tenant_id = :t",
        "UPDATE license_set_version SET \"serialNumber\" = 'X' WHERE tenant_id = :t",
    ],
)
def test_the_billing_history_refuses_every_edit(world, db, statement):
    """What reports invoice from is written once (a trigger on each database
    refuses an UPDATE); a version may only be closed, as an import does."""
    scim, operator, clock = world
    scim.group("Sales-Premium", [scim.user("h0")["id"]])
    clock.now = START + timedelta(days=2)
    assert operator.import_set(signed_set({"Sales-Premium": 5})).status_code == 200

    def figures() -> dict:
        return {k: v for k, v in report(operator, "2026-11").items() if k != "period"}

    before = figures()
    with pytest.raises(DBAPIError), db.write() as session:
        session.execute(text(statement), {"t": scim.tenant_id})
    assert figures() == before


# ------------------------------------------------------------ 4. read-only releases


def test_after_the_grace_date_every_kind_of_release_works(db, tenant_id):
    clock = Clock(START)
    client, scim = live_tenant(db, tenant_id, clock, seats=5, grace_to=START + timedelta(days=1))
    with client:
        operator = Operator(client, db, tenant_id)
        people = [scim.user(f"r{i}") for i in range(5)]
        group = scim.group("Sales-Premium", [p["id"] for p in people])
        other = scim.group("Service-Essentials", [people[4]["id"]])
        operator.ok(
            "POST",
            "/rules",
            {"scope": "in-group", "target": "Helpdesk", "plans": "Marketing-Essentials"},
        )
        helpdesk = scim.group("Helpdesk", [people[3]["id"]])
        clock.now = START + timedelta(days=30)  # past graceTo: read-only

        scim.patch(f"/Users/{people[0]['id']}", {"op": "replace", "path": "active", "value": False})
        scim.ok("DELETE", f"/Users/{people[1]['id']}")
        remove(scim, group, people[2])
        rules = operator.ok("GET", "/rules")["rules"]
        operator.ok("DELETE", f"/rules/{rules[0]['id']}")
        scim.ok("DELETE", f"/Groups/{other['id']}")

        assert scim.licensing(people[0]["id"]) == {"state": "none"}
        assert scim.licensing(people[2]["id"]) == {"state": "none"}
        assert "Marketing-Essentials" not in scim.licensing(people[3]["id"]).get(
            "planCombination", ""
        )
        assert scim.licensing(people[4]["id"])["planCombination"] == "Sales-Premium"
        seats = {m["module"]: m for m in operator.ok("GET", "/license-set")["modules"]}
        assert seats["sales-premium"]["inUse"] == 2  # people 3 and 4 keep theirs
        assert seats["service-essentials"]["inUse"] == 0
        assert seats["marketing-essentials"]["inUse"] == 0
        assert helpdesk["id"]
        assert scim.problems() == []


# ------------------------------------------------------------ 5. tampered row


def test_a_tampered_row_stops_working_for_every_holder_and_works_again_restored(world, db):
    scim, operator, clock = world
    holders = [scim.user(f"t{i}") for i in range(2)]
    group = scim.group("Sales-Premium", [h["id"] for h in holders])

    tamper(db, scim.tenant_id, 50)
    newcomer = scim.user("t-new")
    add(scim, group, newcomer)
    for user in (*holders, newcomer):
        view = scim.licensing(user["id"])
        assert view["state"] == "pending", view
        assert "sales-premium" in view["reason"] and "sales-premium" not in view.get("licenses", [])
    listed = scim.ok("GET", "/Users", filter='userName sw "t"')["Resources"]
    assert {u[LICENSING]["state"] for u in listed} == {"pending"}
    clock.now = datetime(2026, 11, 20)
    flagged = report(operator, "2026-11")
    assert any("sales-premium" in problem for problem in flagged["license_problems"])

    tamper(db, scim.tenant_id, 3)  # restored: the holders' licenses work again at once
    for user in holders:
        assert scim.licensing(user["id"])["state"] == "licensed"
    assert report(operator, "2026-11")["license_problems"] == []
    # The newcomer waited while the row failed; reconcile serves it now.
    changed = operator.ok("POST", "/reconcile")["changes"]
    assert [(c["userName"], c["state"]) for c in changed] == [("t-new", "licensed")]
    assert scim.problems() == []


def test_a_failing_row_is_released_on_reconcile_and_its_holders_served_once_restored(world, db):
    scim, operator, _ = world
    holders = [scim.user(f"r{i}") for i in range(3)]
    group = scim.group("Sales-Premium", [h["id"] for h in holders])
    tamper(db, scim.tenant_id, 50)

    listed = operator.ok("GET", "/users")["users"]
    assert {u["state"] for u in listed} == {"pending"}
    assert all("stopped working" in u["reason"] for u in listed)
    # The next recompute of a holder releases its license.
    scim.group("Service-Essentials", [holders[0]["id"]])
    released = released_users(db, scim.tenant_id)
    assert released == {"r0"}
    # Reconcile releases the others: each waits, saying why.
    changed = operator.ok("POST", "/reconcile")["changes"]
    assert {(c["userName"], c["state"]) for c in changed} == {("r1", "pending"), ("r2", "pending")}
    assert released_users(db, scim.tenant_id) == {"r0", "r1", "r2"}
    assert all("sales-premium" in line for line in operator.ok("GET", "/check")["problems"])

    tamper(db, scim.tenant_id, 3)  # restored: what blocked them went away
    stale = operator.ok("GET", "/check")["problems"]
    assert sum("no longer holds" in line for line in stale) == 3, stale
    changed = operator.ok("POST", "/reconcile")["changes"]
    assert sorted(c["userName"] for c in changed if c["state"] == "licensed") == ["r0", "r1", "r2"]
    assert operator.ok("GET", "/check") == {"consistent": True, "problems": []}
    assert group["id"]


def tamper(db, tenant_id: str, seats: int) -> None:
    """Set the Sales-Premium row's licenseNumber behind the server's back."""
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(
                ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "sales-premium"
            )
            .values(license_number=seats)
        )


def released_users(db, tenant_id: str) -> set[str]:
    """Who the ledger records releasing Sales-Premium."""
    with db.read() as session:
        return set(
            session.execute(
                select(LedgerEntry.user_name).where(
                    LedgerEntry.tenant_id == tenant_id,
                    LedgerEntry.module_name == "sales-premium",
                    LedgerEntry.event == "release",
                )
            ).scalars()
        )


# ------------------------------------------------------ 6. stale pending reasons


def test_waiting_users_are_served_when_what_blocked_them_goes_away(db, tenant_id):
    clock = Clock(START)
    make_tenant(db, tenant_id, seats=15)
    # The server runs without trusting the key the tenant's set is signed with.
    distrusting = Settings(trust_test_license_key="0")
    with TestClient(create_app(db=db, settings=distrusting, clock=clock)) as client:
        scim = Tenant(client, db, tenant_id, clock)
        alice = scim.user("alice")
        scim.group("Sales-Premium", [alice["id"]])
        view = scim.licensing(alice["id"])
        assert view["state"] == "pending" and "key" in view["reason"], view
        # Reconcile under the same keys changes nothing: the blocker is still there.
        assert Operator(client, db, tenant_id).ok("POST", "/reconcile")["changes"] == []

    # It comes back trusting the key: start-up serves the tenants where users wait.
    assert tenant_id in run(db, tenants.waiting, write=False)
    served = tenants.reconcile_waiting(Service(db, Settings(trust_test_license_key="1")))
    assert [(c.user_name, c.state) for c in served[tenant_id].changes] == [("alice", "licensed")]
    assert run(db, tenants.check, tenant_id, write=False) == []


# ------------------------------------------------------------ 7. every problem


def test_check_lists_every_problem_not_the_first(world, db):
    scim, operator, _ = world
    scim.group("Sales-Premium", [scim.user("c1")["id"]])
    with db.write() as session:
        for name in ("sales-premium", "service-premium", "marketing-premium"):
            session.execute(
                text(
                    'UPDATE modulelicense SET "licenseNumber" = "licenseNumber" + 1 '
                    'WHERE tenant_id = :t AND "moduleName" = :m'
                ),
                {"t": scim.tenant_id, "m": name},
            )
    problems = operator.ok("GET", "/check")["problems"]
    for name in ("sales-premium", "service-premium", "marketing-premium"):
        assert any(f"'{name}'" in p and "license invalid" in p for p in problems), problems


# ------------------------------------------------------------ 8. contract terms


def test_new_terms_may_not_move_a_period_that_ended_while_the_tenant_existed(db, tenant_id):
    """Billed in calendar months since September (the default terms): a
    contract start on another day, even one set in the future first and then
    moved back, would move September and October; one on the 1st would not."""
    clock = Clock(datetime(2026, 11, 15))
    client, _ = live_tenant(db, tenant_id, clock, at=datetime(2026, 9, 3))
    with client:
        operator = Operator(client, db, tenant_id)

        def terms(**body):
            return operator.request("PATCH", "", body)

        assert terms(contractStart="2027-01-01", billingPeriod="monthly").status_code == 200
        for moved in ({"contractStart": "2026-10-10"}, {"billingPeriod": "quarterly"}):
            answer = terms(**moved)
            assert answer.status_code == 409, answer.text
            assert "2026-10 (2026-10-01 to 2026-11-01)" in answer.json()["detail"]
        assert terms(contractStart="2026-09-01").status_code == 200
        shown = operator.ok("GET", "")
        assert (shown["contractStart"], shown["billingPeriod"]) == ("2026-09-01", "monthly")
