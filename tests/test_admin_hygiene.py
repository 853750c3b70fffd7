"""Admin API hygiene on both databases: ``dryRun`` only true/false/1/0, unknown
body fields refused by name, previews that warn about rules matching
nothing, 405 with the full ``Allow`` list, and an OpenAPI 3.1 document that
lists every admin route and that real answers fit."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from starlette.routing import Mount

from licensing_core.license_set import license_set_to_json, load_default
from licensing_core.signing import builtin_test_key, sign_license_set
from scimsrv.http.admin.openapi import document
from scimsrv.http.app import ADMIN_BASE
from tests.test_admin_api import admin, setup  # noqa: F401  (setup: the fixture)


def rules_of(client, operator, tenant) -> list:
    return admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}/rules").json()["rules"]


@pytest.mark.parametrize("value", ["maybe", "yes", "", "truee", "2"])
def test_dry_run_other_than_true_false_1_0_is_400_and_changes_nothing(setup, value):  # noqa: F811
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    response = client.post(
        f"/admin/v1/tenants/{tenant.tenant_id}/rules",
        params={"dryRun": value},
        json={"scope": "all", "plans": "Sales-Premium"},
        headers=operator,
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (f"dryRun must be true or false (or 1 or 0), not {value!r}")
    assert response.json()["scimType"] == "invalidValue"
    assert rules_of(client, operator, tenant) == []
    assert tenant.licensing(alice["id"]) == {"state": "none"}


@pytest.mark.parametrize(("value", "dry"), [("1", True), ("TRUE", True), ("0", False)])
def test_dry_run_takes_true_false_1_and_0(setup, value, dry):  # noqa: F811
    client, tenant, operator = setup
    response = client.post(
        f"/admin/v1/tenants/{tenant.tenant_id}/rules",
        params={"dryRun": value},
        json={"scope": "all", "plans": "Sales-Premium"},
        headers=operator,
    )
    assert response.status_code == (200 if dry else 201), response.text
    assert response.json()["dryRun"] is dry
    assert len(rules_of(client, operator, tenant)) == (0 if dry else 1)


def test_unknown_fields_of_a_new_rule_are_refused_by_name(setup):  # noqa: F811
    client, tenant, operator = setup
    body = {"scope": "all", "plans": "Sales-Premium", "colour": "red", "Scope": "x"}
    response = admin(client, operator, "POST", f"/tenants/{tenant.tenant_id}/rules", body)
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "2 unknown fields: 'colour', 'Scope' (known: scope, plans, mode, target, targetBy, "
        "position, description)"
    )
    assert rules_of(client, operator, tenant) == []


def test_a_rule_change_refuses_unknown_fields_wrong_types_and_nothing_to_do(setup):  # noqa: F811
    client, tenant, operator = setup
    base = f"/tenants/{tenant.tenant_id}/rules"
    rule = admin(client, operator, "POST", base, {"scope": "all", "plans": "Sales-Premium"})
    path = f"{base}/{rule.json()['rule']['id']}"
    for body, detail in [
        ({"enabled": False, "name": "x"}, "1 unknown field: 'name' (known: enabled, position)"),
        ({"enabled": "false"}, "enabled: must be true or false, not a string"),
        ({"position": True}, "position: must be an integer, not a boolean"),
        ({}, "send enabled (true or false) and/or position"),
        ([], "the body must be a JSON object"),
    ]:
        response = admin(client, operator, "PATCH", path, body)
        assert response.status_code == 400, body
        assert response.json()["detail"] == detail
    assert [r["enabled"] for r in rules_of(client, operator, tenant)] == [True]


def test_a_license_set_with_an_unknown_field_is_refused_by_name(setup):  # noqa: F811
    client, tenant, operator = setup
    body = license_set_to_json(sign_license_set(load_default().with_seats({}), builtin_test_key()))
    body["owner"]["colour"] = "red"
    response = admin(client, operator, "POST", f"/tenants/{tenant.tenant_id}/license-set", body)
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]


def test_the_preview_warns_about_a_missing_group_and_a_target_on_scope_all(setup):  # noqa: F811
    client, tenant, operator = setup
    tenant.group("Support", [], externalId="grp-1")
    base = f"/tenants/{tenant.tenant_id}/rules"
    for rule in [
        {"scope": "in-group", "target": "support", "plans": "Service-Premium"},
        {"scope": "in-group", "target": "grp-1", "targetBy": "externalId"},
        {"scope": "not-in-group", "target": "Ghosts"},
        {"scope": "in-group", "target": "Support", "targetBy": "externalId"},
        {"scope": "all", "target": "admin", "plans": "Sales-Premium"},
    ]:
        response = admin(client, operator, "POST", base, rule)
        assert response.status_code == 201, response.text
    warnings = response.json()["preview"]["warnings"]
    assert warnings == [
        "rule 3 names group 'Ghosts', but no group of the tenant has that displayName (yet)",
        "rule 4 names group 'Support', but no group of the tenant has that externalId (yet)",
        "rule 5 is for all users: 'admin' is ignored (use scope has-role or in-group to match it)",
    ]
    preview = admin(client, operator, "GET", f"{base}/preview").json()
    assert preview["warnings"] == warnings


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/rules", {"GET", "HEAD", "POST"}),
        ("DELETE", "/rules", {"GET", "HEAD", "POST"}),
        ("POST", "/rules/preview", {"GET", "HEAD"}),
        ("PATCH", "/rules/preview", {"GET", "HEAD"}),
        ("GET", "/rules/7", {"PATCH", "DELETE"}),
        ("PUT", "/license-set", {"GET", "HEAD", "POST"}),
        ("POST", "/check", {"GET", "HEAD"}),
        ("DELETE", "/reports/usage", {"GET", "HEAD"}),
        ("POST", "/license", {"GET", "HEAD"}),
    ],
)
def test_a_wrong_method_is_405_with_every_allowed_method(setup, method, path, allow):  # noqa: F811
    client, tenant, operator = setup
    response = admin(client, operator, method, f"/tenants/{tenant.tenant_id}{path}")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allow
    assert response.json()["status"] == "405"


def test_openapi_is_served_without_a_token_and_is_valid_openapi_3_1(setup):  # noqa: F811
    client, _tenant, _operator = setup
    response = client.get("/admin/v1/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"] == "3.1.0"
    validate(served)


def admin_routes(app) -> set[tuple[str, str]]:
    """Every (path, method) of the app's admin mount; HEAD goes with GET."""
    [mount] = [r for r in app.routes if isinstance(r, Mount) and r.path == ADMIN_BASE]
    return {
        (route.path.replace(":int", ""), method.lower())
        for route in mount.routes
        for method in route.methods
        if method != "HEAD"
    }


def test_openapi_lists_every_admin_route_with_its_methods_and_nothing_else(setup):  # noqa: F811
    client, _tenant, _operator = setup
    documented = {
        (path, method) for path, operations in document()["paths"].items() for method in operations
    }
    assert documented == admin_routes(client.app)


def fits(response, status: int | None = None) -> None:
    """``response`` fits what the OpenAPI document says of its path, method and status."""
    doc = document()
    path = response.request.url.path.removeprefix(ADMIN_BASE)
    for template in doc["paths"]:
        parts = template.split("/")
        given = path.split("/")
        if len(parts) == len(given) and all(
            p == g or p.startswith("{") for p, g in zip(parts, given, strict=True)
        ):
            break
    else:
        raise AssertionError(f"{path} is not documented")
    operation = doc["paths"][template][response.request.method.lower()]
    answer = operation["responses"][str(status or response.status_code)]
    schema = answer["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": doc["components"]}).validate(response.json())


def test_real_answers_fit_the_documented_schemas(setup):  # noqa: F811
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com")
    tenant.group("Sales", [alice["id"]])
    base = f"/tenants/{tenant.tenant_id}"
    added = admin(
        client, operator, "POST", f"{base}/rules", {"scope": "in-group", "target": "Sales"}
    )
    assert added.status_code == 201
    fits(added)
    rule = added.json()["rule"]["id"]
    fits(admin(client, operator, "GET", f"{base}/rules"))
    fits(admin(client, operator, "GET", f"{base}/rules/preview"))
    fits(admin(client, operator, "PATCH", f"{base}/rules/{rule}?dryRun=1", {"position": 1}))
    fits(admin(client, operator, "PATCH", f"{base}/rules/{rule}", {"colour": 1}))
    fits(admin(client, operator, "DELETE", f"{base}/rules/{rule}"))
    fits(admin(client, operator, "GET", f"{base}/check"))
    fits(admin(client, operator, "GET", f"{base}/license-set"))
    too_small = sign_license_set(
        load_default().with_seats({"Sales-Premium": 1}), builtin_test_key()
    )
    imported = admin(
        client, operator, "POST", f"{base}/license-set", license_set_to_json(too_small)
    )
    assert imported.status_code == 200
    fits(imported)
    unsigned = license_set_to_json(load_default().with_seats({}))
    refused = admin(client, operator, "POST", f"{base}/license-set", unsigned)
    assert refused.status_code == 409
    fits(refused)
    fits(admin(client, operator, "GET", f"{base}/reports/usage?period=2026-10"))
    fits(admin(client, operator, "GET", f"{base}/reports/usage?period=2026-10&explain=users"))
    fits(admin(client, {}, "GET", f"{base}/rules"), 401)
    fits(admin(client, operator, "GET", "/tenants/nobody/check"), 404)
