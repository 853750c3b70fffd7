"""The provisioning and audit log: every write of a tenant leaves exactly one
entry in its own transaction (SCIM requests, each /Bulk operation, rule
changes, license imports, tokens, tenants), a refused write one failure
entry and no change, a rolled-back write or a dry run none; the admin API
filters and pages it; no token ever appears in it; nothing updates it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from licensing_core.license_set import license_set_to_json, load_default
from licensing_core.signing import builtin_test_key, sign_license_set
from scimsrv.services import audit, rules, tenants, tokens
from scimsrv.services.audit import RequestInfo
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.settings import Settings
from tests.licensing_helpers import NOW
from tests.scim_client import GROUP, PATCH, USER, Clock, live_tenant
from tests.use_cases import run

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def service_run(db, tenant_id: str, work, command: str):
    """``work`` as the command line runs it: the local operator, the command named."""
    return Service(db, Settings(), clock=lambda: NOW).run(
        work, caller=LOCAL, tenant_id=tenant_id, request=RequestInfo(command=command)
    )


@pytest.fixture
def setup(db, tenant_id):
    """A tenant with one seat a plan, its SCIM client, and an operator token
    issued as the command line issues it."""
    client, tenant = live_tenant(db, tenant_id, Clock(), seats=1)
    operator = service_run(
        db, "", lambda tx: tokens.issue(tx, None, "ops"), "scimsrv operator token issue"
    )
    with client:
        yield client, tenant, {"Authorization": f"Bearer {operator}"}


def log(client, operator, tenant_id: str, **params) -> dict:
    response = client.get(f"/admin/v1/tenants/{tenant_id}/log", params=params, headers=operator)
    assert response.status_code == 200, response.text
    return response.json()


def entries(client, operator, tenant_id: str, **params) -> list[dict]:
    """Every entry (oldest first), paging through with the cursor."""
    found: list[dict] = []
    params = {"count": 1000, **params}
    while True:
        page = log(client, operator, tenant_id, **params)
        found += page["entries"]
        if page["nextCursor"] is None:
            return found[::-1]
        params["cursor"] = page["nextCursor"]


def rows(db, tenant_id: str) -> list[dict]:
    """The tenant's raw audit_log rows, every column (JSON as the database
    hands it back: text on SQLite)."""
    with db.read() as session:
        result = session.execute(
            text("SELECT * FROM audit_log WHERE tenant_id = :t ORDER BY entry_id"), {"t": tenant_id}
        )
        return [dict(row._mapping) for row in result]


def test_each_scim_write_leaves_one_entry_with_who_the_request_and_what_changed(setup):
    client, tenant, operator = setup
    headers = {**tenant.headers, "X-Request-Id": "req-create-alice"}
    created = client.post(
        f"{tenant.base}/Users",
        json={"schemas": [USER], "userName": "alice@example.com"},
        headers=headers,
    )
    assert created.status_code == 201
    alice = created.json()
    bob = tenant.user("bob@example.com")
    group = tenant.group("Sales-Premium", [alice["id"], bob["id"]])  # one seat: bob waits
    tenant.ok("GET", f"/Users/{alice['id']}")  # a read: no entry
    tenant.patch(f"/Users/{alice['id']}", {"op": "replace", "value": {"active": False}})
    tenant.ok("PUT", f"/Users/{bob['id']}", {"schemas": [USER], "userName": "robert@example.com"})
    tenant.ok("DELETE", f"/Groups/{group['id']}")

    found = entries(client, operator, tenant.tenant_id)
    assert len(found) == 6
    assert {e["actor"] for e in found} == {
        "token " + tenant.headers["Authorization"][7:23] + " (test)"
    }
    assert all(e["outcome"] == "success" and e["status"] is None for e in found)
    first = found[0]
    assert first["request"] == {
        "method": "POST",
        "path": f"{tenant.base}/Users",
        "requestId": "req-create-alice",
    }
    assert first["changes"] == {
        "resources": [{"type": "User", "id": alice["id"], "name": "alice@example.com"}]
    }

    grouped = found[2]["changes"]
    assert grouped["resources"] == [{"type": "Group", "id": group["id"], "name": "Sales-Premium"}]
    assert {(m["userName"], m["change"]) for m in grouped["members"]} == {
        ("alice@example.com", "added"),
        ("bob@example.com", "added"),
    }
    assert "members added: alice@example.com, bob@example.com" in audit.summary(grouped)
    plans = {p["userName"]: p for p in grouped["plans"]}
    assert (plans["alice@example.com"]["before"], plans["alice@example.com"]["after"]) == (
        "",
        "Sales-Premium",
    )
    assert plans["alice@example.com"]["state"] == "licensed"
    assert "sales-premium" in plans["alice@example.com"]["licensesAdded"]
    assert plans["bob@example.com"]["state"] == "pending" and plans["bob@example.com"]["reason"]
    assert grouped["seats"]["sales-premium"] == 1

    # Alice deactivated: her seat goes to bob, who was waiting.
    deactivated = {p["userName"]: p for p in found[3]["changes"]["plans"]}
    assert (
        deactivated["alice@example.com"]["before"],
        deactivated["alice@example.com"]["after"],
    ) == (
        "Sales-Premium",
        "",
    )
    assert deactivated["bob@example.com"]["after"] == "Sales-Premium"
    assert found[3]["request"]["method"] == "PATCH"

    renamed = found[4]["changes"]["resources"]
    assert renamed == [
        {
            "type": "User",
            "id": bob["id"],
            "name": "robert@example.com",
            "previousName": "bob@example.com",
        }
    ]
    deleted = found[5]
    assert deleted["request"]["method"] == "DELETE"
    assert deleted["changes"]["resources"][0]["name"] == "Sales-Premium"
    assert {m["change"] for m in deleted["changes"]["members"]} == {"removed"}
    assert "members removed: alice@example.com, robert@example.com" in audit.summary(
        deleted["changes"]
    )
    assert deleted["changes"]["plans"][0]["before"] == "Sales-Premium"


def test_each_bulk_operation_leaves_its_own_entry_with_the_bulk_request_id(setup):
    client, tenant, operator = setup
    bob = tenant.user("bob@example.com")
    body = {
        "schemas": [BULK],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "carol",
                "path": "/Users",
                "data": {"schemas": [USER], "userName": "carol@example.com"},
            },
            {"method": "DELETE", "path": f"/Users/{bob['id']}"},
            {"method": "PATCH", "path": "/Users/no-such-user", "data": {"schemas": [PATCH]}},
        ],
    }
    headers = {**tenant.headers, "X-Request-Id": "bulk-1"}
    response = client.post(f"{tenant.base}/Bulk", json=body, headers=headers)
    assert [op["status"] for op in response.json()["Operations"]] == ["201", "204", "400"]

    found = [
        e
        for e in entries(client, operator, tenant.tenant_id)
        if e["request"].get("requestId") == "bulk-1"
    ]
    assert [(e["request"]["method"], e["request"]["operation"], e["outcome"]) for e in found] == [
        ("POST", 0, "success"),
        ("DELETE", 1, "success"),
        ("PATCH", 2, "failure"),
    ]
    assert found[0]["request"]["bulkId"] == "carol"
    assert found[0]["request"]["path"] == f"{tenant.base}/Users"
    assert found[0]["changes"]["resources"][0]["name"] == "carol@example.com"
    assert found[1]["changes"]["resources"][0]["name"] == "bob@example.com"
    assert found[2]["status"] == 400 and found[2]["changes"] == {}


def test_a_refused_write_leaves_one_failure_entry_and_changes_nothing(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    duplicate = tenant.request(
        "POST", "/Users", {"schemas": [USER], "userName": "ALICE@example.com"}
    )
    assert duplicate.status_code == 409
    stale = client.request(
        "PATCH",
        f"{tenant.base}/Users/{alice['id']}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        headers={**tenant.headers, "If-Match": 'W/"999"'},
    )
    assert stale.status_code == 412
    unknown_member = tenant.request(
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": "G", "members": [{"value": "nobody"}]},
    )
    assert unknown_member.status_code == 400
    # Refused for its credential, or a read: nothing recorded.
    assert client.post(f"{tenant.base}/Users", json={}, headers={}).status_code == 401
    assert tenant.request("GET", "/Users/nobody").status_code == 404

    found = entries(client, operator, tenant.tenant_id)
    assert [(e["outcome"], e["status"]) for e in found] == [
        ("success", None),
        ("failure", 409),
        ("failure", 412),
        ("failure", 400),
    ]
    assert "already taken" in found[1]["error"]
    assert all(e["changes"] == {} for e in found[1:])
    assert tenant.ok("GET", "/Groups")["totalResults"] == 0
    assert tenant.licensing(alice["id"]) == {"state": "none"}


def test_rule_changes_and_license_imports_leave_one_entry_and_a_dry_run_none(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    bob = tenant.user("bob@example.com")
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rule = {"scope": "all", "plans": "Service-Premium"}
    dry = client.post(f"{base}/rules?dryRun=true", json=rule, headers=operator)
    assert dry.status_code == 200
    added = client.post(f"{base}/rules", json=rule, headers=operator)
    assert added.status_code == 201
    bigger = sign_license_set(load_default().with_seats({"Service-Premium": 5}), builtin_test_key())
    imported = client.post(
        f"{base}/license-set", json=license_set_to_json(bigger), headers=operator
    )
    assert imported.status_code == 200, imported.text

    found = entries(client, operator, tenant.tenant_id)
    assert [e["request"]["path"] for e in found] == [
        f"{tenant.base}/Users",
        f"{tenant.base}/Users",
        f"{base}/rules",
        f"{base}/license-set",
    ]
    rule_entry = found[2]
    assert rule_entry["actor"] == "token " + operator["Authorization"][7:23] + " (ops)"
    assert rule_entry["changes"]["rules"]["before"] == []
    assert [r["rule"] for r in rule_entry["changes"]["rules"]["after"]] == [
        "all users -> Service-Premium (always)"
    ]
    plans = {p["userName"]: p["state"] for p in rule_entry["changes"]["plans"]}
    assert plans == {"alice@example.com": "licensed", "bob@example.com": "pending"}

    imported_entry = found[3]["changes"]
    seats = {s["module"]: (s["before"], s["after"]) for s in imported_entry["licenseSet"]["seats"]}
    assert seats["service-premium"] == (1, 5)
    assert [(p["userName"], p["after"]) for p in imported_entry["plans"]] == [
        ("bob@example.com", "Service-Premium")
    ]
    assert alice["id"] and bob["id"]


def test_a_rejected_license_import_is_a_failure_entry(setup):
    client, tenant, operator = setup
    forged = license_set_to_json(
        sign_license_set(load_default().with_seats({}), builtin_test_key())
    )
    forged["modules"][0]["licenseNumber"] += 100  # no longer what was signed
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rejected = client.post(f"{base}/license-set", json=forged, headers=operator)
    assert rejected.status_code == 409
    (entry,) = entries(client, operator, tenant.tenant_id)
    assert (entry["request"]["path"], entry["status"]) == (f"{base}/license-set", 409)
    assert "signature" in entry["error"] and entry["changes"] == {}


def test_tenant_and_token_commands_leave_one_entry_each(db, tenant_id):
    service_run(
        db, tenant_id, lambda tx: tenants.create(tx, tenant_id, "Acme"), "scimsrv tenant create"
    )
    secret = service_run(
        db, tenant_id, lambda tx: tokens.issue(tx, tenant_id, "entra"), "scimsrv token issue"
    )
    service_run(
        db, tenant_id, lambda tx: tokens.revoke(tx, tenant_id, secret[:16]), "scimsrv token revoke"
    )
    # Operator tokens concern no tenant: in no tenant's log.
    service_run(db, "", lambda tx: tokens.issue(tx, None, "ops"), "scimsrv operator token issue")

    found = run(db, lambda tx: audit.log_page(tx, audit.LogRequest()), tenant_id, write=False)
    assert [e.request for e in reversed(found.entries)] == [
        {"command": "scimsrv tenant create"},
        {"command": "scimsrv token issue"},
        {"command": "scimsrv token revoke"},
    ]
    created, issued, revoked = reversed(found.entries)
    assert created.actor.startswith("cli ")
    assert created.changes == {
        "tenant": {
            "created": tenant_id,
            "name": "Acme",
            "company": "Acme",
            "contractStart": None,
            "billingPeriod": None,
        }
    }
    assert issued.changes == {"token": {"issued": secret[:16], "label": "entra"}}
    assert revoked.changes["token"]["revoked"] == secret[:16]


def test_tenant_changes_over_the_admin_api_say_what_changed(setup, db):
    client, _, operator = setup
    new = f"n-{NOW:%H%M%S}-{id(client) % 10000}"
    created = client.post("/admin/v1/tenants", json={"id": new, "name": "Nova"}, headers=operator)
    assert created.status_code == 201, created.text
    tenant = f"/admin/v1/tenants/{new}"
    assert client.patch(tenant, json={"company": "Nova AS"}, headers=operator).status_code == 200
    assert client.post(f"{tenant}/suspend", headers=operator).status_code == 200
    assert client.post(f"{tenant}/resume", headers=operator).status_code == 200
    assert client.delete(tenant, headers=operator).status_code == 200

    found = [entry["changes"]["tenant"] for entry in entries(client, operator, new)]
    verbs = ("created", "changed", "suspended", "resumed", "deleted")
    assert [next(v for v in verbs if v in change) for change in found] == [
        "created",
        "changed",
        "suspended",
        "resumed",
        "deleted",
    ]
    assert found[1]["fields"] == {"company": {"before": "Nova", "after": "Nova AS"}}
    assert found[2]["fields"] == {"state": {"before": "active", "after": "suspended"}}
    assert found[4] == {
        "deleted": new,
        "users": 0,
        "groups": 0,
        "liveTokens": 0,
        "licensesReleased": 0,
    }
    lines = audit.summary({"tenant": found[1]})
    assert lines == ["tenant changed " + new + ": company 'Nova' -> 'Nova AS'"]


def test_a_rolled_back_write_leaves_no_entry(db, tenant_id):
    service_run(db, tenant_id, lambda tx: tenants.create(tx, tenant_id), "scimsrv tenant create")

    def fails(tx):
        tokens.issue(tx, tenant_id, "half")
        raise RuntimeError("after the write")

    with pytest.raises(RuntimeError):
        service_run(db, tenant_id, fails, "scimsrv token issue")
    edit = rules.add(scope="all", plans="Sales-Premium")
    Service(db, Settings()).run(
        lambda tx: rules.edit_rules(tx, edit),
        caller=LOCAL,
        tenant_id=tenant_id,
        dry_run=True,
        request=RequestInfo(command="scimsrv rules add"),
    )
    (only,) = run(db, lambda tx: audit.log_page(tx, audit.LogRequest()), tenant_id).entries
    assert only.request == {"command": "scimsrv tenant create"}
    assert len(rows(db, tenant_id)) == 1


def test_the_log_is_filtered_by_user_and_time_and_paged_by_cursor_or_start_index(setup):
    client, tenant, operator = setup
    alice = tenant.user("Alice@example.com")
    bob = tenant.user("bob@example.com")
    tenant.group("Team", [alice["id"]])  # a membership change concerns alice
    for n in range(4):
        tenant.patch(
            f"/Users/{bob['id']}", {"op": "replace", "path": "displayName", "value": f"B{n}"}
        )
    every = entries(client, operator, tenant.tenant_id)
    assert len(every) == 7

    by_name = log(client, operator, tenant.tenant_id, user="ALICE@EXAMPLE.COM")
    by_id = log(client, operator, tenant.tenant_id, user=alice["id"])
    assert by_name == by_id
    assert by_name["totalResults"] == 2
    assert [e["id"] for e in by_name["entries"]] == [every[2]["id"], every[0]["id"]]

    since = every[3]["at"]
    until = every[5]["at"]
    window = log(client, operator, tenant.tenant_id, since=since, until=until)
    assert [e["id"] for e in window["entries"]] == [every[4]["id"], every[3]["id"]]

    page1 = log(client, operator, tenant.tenant_id, count=3)
    page2 = log(client, operator, tenant.tenant_id, count=3, cursor=page1["nextCursor"])
    page3 = log(client, operator, tenant.tenant_id, count=3, cursor=page2["nextCursor"])
    paged = [e["id"] for p in (page1, page2, page3) for e in p["entries"]]
    assert paged == [e["id"] for e in reversed(every)]
    assert page3["nextCursor"] is None
    second = log(client, operator, tenant.tenant_id, count=3, startIndex=4)
    assert second["entries"] == page2["entries"] and second["startIndex"] == 4
    assert second["totalResults"] == 7


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"since": "last tuesday"}, "neither an ISO 8601"),
        ({"count": "0"}, "count must be between"),
        ({"count": "-1"}, "count must be a positive integer"),
        ({"cursor": "bm9wZQ"}, "cursor is not valid"),
        ({"cursor": "x", "startIndex": "1"}, "not both"),
    ],
)
def test_bad_log_parameters_are_400(setup, params, detail):
    client, tenant, operator = setup
    response = client.get(
        f"/admin/v1/tenants/{tenant.tenant_id}/log", params=params, headers=operator
    )
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]


def test_the_log_needs_an_operator_token_and_a_tenant(setup):
    client, tenant, operator = setup
    path = f"/admin/v1/tenants/{tenant.tenant_id}/log"
    assert client.get(path, headers=tenant.headers).status_code == 401
    assert client.get("/admin/v1/tenants/nobody/log", headers=operator).status_code == 404


def test_no_token_ever_appears_in_an_entry(setup, db):
    client, tenant, _ = setup
    secret = tenant.headers["Authorization"][7:]
    # A token in a query string, in a path and in values a client sends.
    client.post(
        f"{tenant.base}/Users",
        params={"access_token": secret},
        json={"schemas": [USER], "userName": f"x-{secret}", "displayName": secret},
        headers=tenant.headers,
    )
    client.patch(f"{tenant.base}/Users/{secret}", json={}, headers=tenant.headers)
    client.post(
        f"{tenant.base}/Bulk",
        json={"schemas": [BULK], "Operations": [{"method": "DELETE", "path": f"/Users/{secret}"}]},
        headers=tenant.headers,
    )
    issued = service_run(
        db,
        tenant.tenant_id,
        lambda tx: tokens.issue(tx, tenant.tenant_id, "x"),
        "scimsrv token issue",
    )
    recorded = rows(db, tenant.tenant_id)
    assert len(recorded) == 4
    dumped = repr(recorded)
    assert secret not in dumped and issued not in dumped
    assert secret[:16] in dumped  # the prefix token lists show is what stays


def test_nothing_updates_an_entry(setup, db):
    _, tenant, _ = setup
    tenant.user("alice@example.com")
    with pytest.raises(DBAPIError, match="append-only"), db.write() as session:
        session.execute(
            text("UPDATE audit_log SET actor = 'someone else' WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
    assert rows(db, tenant.tenant_id)[0]["actor"].startswith("token ")


def test_retention_deletes_old_entries_but_each_tenants_newest_and_numbering_goes_on(db, tenant_id):
    old = NOW - timedelta(days=400)
    writes = [
        lambda tx: tenants.create(tx, tenant_id),
        lambda tx: tokens.issue(tx, tenant_id, "t"),
        lambda tx: tokens.issue(tx, tenant_id, "u"),
    ]
    for minutes, work in enumerate(writes):
        Service(db, Settings(), clock=lambda m=minutes: old + timedelta(minutes=m)).run(
            work, caller=LOCAL, tenant_id=tenant_id, request=RequestInfo(command="scimsrv x")
        )
    numbers = [row["entry_id"] for row in rows(db, tenant_id)]
    gone = run(db, lambda tx: audit.prune(tx, 365))
    assert gone >= 2
    assert [row["entry_id"] for row in rows(db, tenant_id)] == numbers[-1:]
    assert run(db, lambda tx: audit.prune(tx, 0)) == 0
    service_run(db, tenant_id, lambda tx: tokens.issue(tx, tenant_id, "t"), "scimsrv token issue")
    assert rows(db, tenant_id)[-1]["entry_id"] > numbers[-1]


def test_recent_lists_a_users_newest_entries(setup, db):
    _, tenant, _ = setup
    alice = tenant.user("alice@example.com")
    tenant.user("bob@example.com")
    group = tenant.group("Sales-Premium", [alice["id"]])
    tenant.patch(
        f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}
    )
    found = run(
        db, lambda tx: audit.recent(tx, alice["id"], limit=2), tenant.tenant_id, write=False
    )
    assert [e.request["method"] for e in found] == ["PATCH", "POST"]
    assert [p["after"] for e in found for p in e.changes["plans"]] == ["", "Sales-Premium"]
    assert isinstance(found[0].at, datetime)
