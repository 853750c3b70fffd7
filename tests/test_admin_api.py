"""The operators' admin API: operator tokens only, rules with dry-run previews,
the consistency check."""

from __future__ import annotations

import pytest

from licensing_core.license_set import license_set_to_json, load_default
from licensing_core.signing import builtin_test_key, sign_license_set
from scimsrv.services import tokens
from tests.scim_client import Clock, live_tenant
from tests.use_cases import tx_of


@pytest.fixture
def setup(db, tenant_id):
    client, tenant = live_tenant(db, tenant_id, Clock(), seats=1)
    with db.write() as session:
        operator = tokens.issue(tx_of(session), None, label="ops")
    with client:
        yield client, tenant, {"Authorization": f"Bearer {operator}"}


def admin(client, headers, method, path, body=None):
    return client.request(method, f"/admin/v1{path}", json=body, headers=headers)


def test_admin_api_refuses_tenant_tokens_and_no_token(setup):
    client, tenant, _ = setup
    rules = f"/tenants/{tenant.tenant_id}/rules"
    assert admin(client, {}, "GET", rules).status_code == 401
    response = admin(client, tenant.headers, "GET", rules)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Basic") and "Bearer" in challenge


def test_operator_token_cannot_reach_the_scim_api(setup):
    client, tenant, operator = setup
    response = client.get(f"{tenant.base}/Users", headers=operator)
    assert response.status_code == 401


def test_dry_run_rule_answers_the_preview_and_changes_nothing(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    tenant.group("Support", [alice["id"]])
    rule = {"scope": "in-group", "target": "Support", "plans": "Service-Premium"}
    response = admin(
        client, operator, "POST", f"/tenants/{tenant.tenant_id}/rules?dryRun=true", rule
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dryRun"] is True
    assert body["preview"]["changes"] == [
        {
            "userId": alice["id"],
            "userName": "alice@example.com",
            "before": "",
            "after": "Service-Premium",
            "stateBefore": "none",
            "state": "licensed",
            "reason": "",
        }
    ]
    seats = {s["module"]: s for s in body["preview"]["seats"]}
    assert (seats["service-premium"]["inUse"], seats["service-premium"]["after"]) == (0, 1)
    assert admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}/rules").json() == {
        "rules": []
    }
    assert tenant.licensing(alice["id"]) == {"state": "none"}


def test_applied_rule_recomputes_users_and_can_be_disabled_and_removed(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    base = f"/tenants/{tenant.tenant_id}/rules"
    created = admin(client, operator, "POST", base, {"scope": "all", "plans": "Sales-Premium"})
    assert created.status_code == 201
    rule_id = created.json()["rule"]["id"]
    assert tenant.licensing(alice["id"])["planCombination"] == "Sales-Premium"
    disabled = admin(client, operator, "PATCH", f"{base}/{rule_id}", {"enabled": False})
    assert disabled.json()["rule"]["enabled"] is False
    assert tenant.licensing(alice["id"])["state"] == "none"
    assert admin(client, operator, "DELETE", f"{base}/{rule_id}").status_code == 200
    assert admin(client, operator, "GET", base).json() == {"rules": []}
    check = admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}/check").json()
    assert check == {"consistent": True, "problems": []}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"scope": "all", "plans": "Sales-Essentials + Sales-Premium"}, "conflict"),
        ({"scope": "in-group"}, "needs a group"),
        ({"scope": "all", "position": "first"}, 'position must be an integer, got "first"'),
        ({"scope": 3}, "scope must be a string, got 3"),
    ],
)
def test_invalid_rules_are_400_with_a_reason_and_change_nothing(setup, body, detail):
    client, tenant, operator = setup
    base = f"/tenants/{tenant.tenant_id}/rules"
    response = admin(client, operator, "POST", base, body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert admin(client, operator, "GET", base).json() == {"rules": []}


def test_unknown_tenant_and_rule_are_404(setup):
    client, tenant, operator = setup
    assert admin(client, operator, "GET", "/tenants/nobody/rules").status_code == 404
    missing = admin(
        client, operator, "PATCH", f"/tenants/{tenant.tenant_id}/rules/999", {"enabled": True}
    )
    assert missing.status_code == 404


def test_license_set_status_shows_owner_seats_and_verification(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    tenant.group("Sales-Premium", [alice["id"]])
    status = admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}/license-set").json()
    assert status["owner"] == "SUPEROFFICE" and status["valid"] is True
    assert status["state"] == "active"
    modules = {m["module"]: m for m in status["modules"]}
    assert (modules["sales-premium"]["bought"], modules["sales-premium"]["inUse"]) == (1, 1)
    assert modules["sales-premium"]["free"] == 0 and modules["sales-premium"]["plan"] is True
    assert any("TEST key" in warning for warning in status["warnings"])


def test_importing_a_set_with_fewer_seats_than_in_use_is_409_with_who_holds_them(setup):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    tenant.group("Service-Essentials", [alice["id"]])
    smaller = sign_license_set(
        load_default().with_seats({"Service-Essentials": 1, "Sales-Premium": 5}), builtin_test_key()
    )
    accepted = admin(
        client,
        operator,
        "POST",
        f"/tenants/{tenant.tenant_id}/license-set",
        license_set_to_json(smaller),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] is True
    bob = tenant.user("bob@example.com")
    tenant.group("Marketing-Premium", [alice["id"], bob["id"]])
    too_small = sign_license_set(
        load_default().with_seats({"Marketing-Premium": 1}), builtin_test_key()
    )
    rejected = admin(
        client,
        operator,
        "POST",
        f"/tenants/{tenant.tenant_id}/license-set",
        license_set_to_json(too_small),
    )
    assert rejected.status_code == 409
    body = rejected.json()
    blocking = {m["module"]: m for m in body["modules"] if m["toRemove"]}
    assert blocking["marketing-premium"]["toRemove"] == 1
    holders = {h["userName"] for h in blocking["marketing-premium"]["heldBy"]}
    assert holders == {"alice@example.com", "bob@example.com"}


def test_malformed_license_set_is_400(setup):
    client, tenant, operator = setup
    response = admin(
        client, operator, "POST", f"/tenants/{tenant.tenant_id}/license-set", {"format": 1}
    )
    assert response.status_code == 400
