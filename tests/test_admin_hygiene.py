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
        ({"enabled": "false"}, 'enabled must be true or false, got "false"'),
        ({"position": True}, "position must be an integer, got true"),
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
        (route.path_format, method.lower())
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


def test_tenant_directory_catalog_and_log_answers_fit_the_documented_schemas(
    setup,  # noqa: F811
):
    client, tenant, operator = setup
    alice = tenant.user("alice@example.com", displayName="Alice")
    tenant.user("bob@example.com")
    tenant.group("Sales-Premium", [alice["id"]], externalId="grp-1")
    tenant.group("Engineering", [])
    base = f"/tenants/{tenant.tenant_id}"
    explained = admin(
        client, operator, "GET", f"{base}/reports/usage?period=2026-11&explain=Sales-Premium"
    )
    assert [row["scim_id"] for row in explained.json()] == [alice["id"]]
    fits(explained)
    report = admin(client, operator, "GET", f"{base}/reports/usage?period=2026-11")
    assert report.json()["billable"]["plan_licenses"] == 1
    fits(report)
    listed = admin(client, operator, "GET", "/tenants")
    assert tenant.tenant_id in [t["id"] for t in listed.json()["tenants"]]
    fits(listed)
    fits(admin(client, operator, "GET", base))
    fits(admin(client, operator, "PATCH", base, {"company": "Acme AS"}))
    fits(admin(client, operator, "POST", f"{base}/suspend"))
    fits(admin(client, operator, "POST", f"{base}/resume"))
    fits(admin(client, operator, "POST", f"{base}/reconcile?dryRun=1"))
    for query in ("", "?count=1", "?count=1&cursor=", "?state=licensed&plan=Sales-Premium"):
        fits(admin(client, operator, "GET", f"{base}/users{query}"))
        fits(admin(client, operator, "GET", f"{base}/groups{query.partition('&state')[0]}"))
    fits(admin(client, operator, "GET", f"{base}/plans"))
    fits(admin(client, operator, "GET", "/plans?lang=no"))
    fits(admin(client, operator, "GET", f"{base}/log?count=2"))
    fits(admin(client, operator, "GET", f"{base}/log?startIndex=2"))
    fits(admin(client, operator, "POST", f"{base}/suspend", {"x": 1}), 400)
    other = f"{tenant.tenant_id}-new"
    created = admin(client, operator, "POST", "/tenants", {"id": other, "name": "New"})
    assert created.status_code == 201, created.text
    fits(created)
    fits(admin(client, operator, "DELETE", f"/tenants/{other}"))
    fits(admin(client, operator, "DELETE", f"/tenants/{other}?purge=true"))


def test_the_pages_document_their_parameters_as_they_read_them(setup):  # noqa: F811
    client, tenant, operator = setup
    paths = document()["paths"]
    page = paths["/tenants/{tenant}/license"]["get"]
    assert "period" in [parameter["name"] for parameter in page["parameters"]]
    assert "text/html" in page["responses"]["400"]["content"]
    holders = paths["/tenants/{tenant}/license/holders/{module}"]["get"]
    [start] = [p for p in holders["parameters"] if p["name"] == "startIndex"]
    assert "below 1 counts as 1" in start["description"]
    [users_start] = [
        p
        for p in paths["/tenants/{tenant}/users"]["get"]["parameters"]
        if p["name"] == "startIndex"
    ]
    assert users_start == start
    first = admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}/users?startIndex=0")
    assert first.status_code == 200 and first.json()["startIndex"] == 1


def test_a_dry_run_given_twice_is_refused_as_given_twice(setup):  # noqa: F811
    client, tenant, operator = setup
    response = client.post(
        f"/admin/v1/tenants/{tenant.tenant_id}/reconcile?dryRun=true&dryRun=false",
        headers=operator,
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "dryRun given 2 times: give it once"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/suspend"),
        ("POST", "/resume"),
        ("POST", "/reconcile"),
        ("DELETE", ""),
        ("GET", "/rules"),
        ("GET", "/users"),
    ],
)
def test_an_endpoint_that_takes_no_body_refuses_one_by_its_fields(
    setup,  # noqa: F811
    method,
    path,
):
    client, tenant, operator = setup
    url = f"/tenants/{tenant.tenant_id}{path}"
    unknown = admin(client, operator, method, url, {"x": 1, "reason": "late"})
    assert unknown.status_code == 400
    assert unknown.json()["detail"] == "2 unknown fields: 'x', 'reason' (known: none)"
    assert unknown.json()["scimType"] == "invalidValue"
    listed = admin(client, operator, method, url, [1])
    assert listed.status_code == 400 and listed.json()["scimType"] == "invalidSyntax"
    assert listed.json()["detail"] == "this request takes no body (or {})"
    shown = admin(client, operator, "GET", f"/tenants/{tenant.tenant_id}").json()
    assert shown["state"] == "active" and shown["suspended"] is None
    if method != "DELETE":
        for empty in ({}, None):
            assert admin(client, operator, method, url, empty).status_code == 200


def test_every_admin_body_refuses_in_one_wording(setup):  # noqa: F811
    """Unknown fields all named with the known ones; a wrong type with what it
    should be and what was sent; rules, tenants and license sets alike."""
    client, tenant, operator = setup
    base = f"/tenants/{tenant.tenant_id}"
    rule = admin(client, operator, "POST", f"{base}/rules", {"scope": "all"}).json()["rule"]
    signed = license_set_to_json(
        sign_license_set(load_default().with_seats({}), builtin_test_key())
    )
    signed["owner"]["colour"] = "red"
    unknown = [
        ("POST", f"{base}/rules", {"scope": "all", "group": "x"}, "scope, plans, mode"),
        ("PATCH", f"{base}/rules/{rule['id']}", {"group": "x"}, "enabled, position"),
        ("POST", "/tenants", {"id": "x", "group": "x"}, "id, name, company"),
        ("PATCH", base, {"group": "x"}, "name, company, contractStart"),
        ("POST", f"{base}/resume", {"group": "x"}, "none"),
    ]
    for method, path, body, known in unknown:
        detail = admin(client, operator, method, path, body).json()["detail"]
        assert detail.startswith(f"1 unknown field: 'group' (known: {known}"), detail
    owner = admin(client, operator, "POST", f"{base}/license-set", signed).json()["detail"]
    assert owner.startswith("owner: 1 unknown field: 'colour' (known: ownerName, "), owner
    wrong = [
        ("POST", f"{base}/rules", {"scope": 7}, "scope must be a string, got 7"),
        (
            "PATCH",
            f"{base}/rules/{rule['id']}",
            {"enabled": 1},
            "enabled must be true or false, got 1",
        ),
        ("POST", "/tenants", {"id": "x", "name": 7}, "name must be a string, got 7"),
        ("PATCH", base, {"name": ["x"]}, 'name must be a string, got ["x"]'),
    ]
    for method, path, body, detail in wrong:
        assert admin(client, operator, method, path, body).json()["detail"] == detail
    signed["owner"] = {**signed["owner"], "colour": None}
    del signed["owner"]["colour"]
    signed["owner"]["companyName"] = 7
    owner = admin(client, operator, "POST", f"{base}/license-set", signed).json()["detail"]
    assert owner == "owner companyName must be a string, got 7"
