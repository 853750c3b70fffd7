"""``/admin/v1/tenants`` on both databases: list, create, show, change,
suspend, resume, delete and purge over HTTP; bad input is a 4xx SCIM error
that changes nothing; a suspended tenant's SCIM API answers 403 while its
admin API works; a deleted one keeps its ledger for reports."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from scimsrv.http.app import create_app
from scimsrv.services import tokens
from tests.provisioning_helpers import Directory
from tests.scim_client import USER
from tests.use_cases import run

NOW_PERIOD = "2026-11"


@pytest.fixture
def admin(db):
    operator = run(db, lambda tx: tokens.issue(tx, None, "ops"))
    headers = {"Authorization": f"Bearer {operator}"}
    with TestClient(create_app(db=db), base_url="https://scim.example", headers=headers) as c:
        yield c


def tenant_of(admin, tenant_id: str) -> dict:
    response = admin.get(f"/admin/v1/tenants/{tenant_id}")
    assert response.status_code == 200, response.text
    return response.json()


def refused(response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == str(status) and detail in body["detail"], body
    assert response.headers["content-type"].startswith("application/scim+json")


@pytest.fixture
def acme(admin, tenant_id):
    response = admin.post("/admin/v1/tenants", json={"id": tenant_id, "name": "Acme"})
    assert response.status_code == 201, response.text
    return tenant_id


def test_create_answers_201_with_the_tenant_and_its_location(admin, tenant_id):
    body = {
        "id": tenant_id,
        "name": "Acme",
        "company": "Acme AS",
        "contractStart": "2026-03-15",
        "billingPeriod": "quarterly",
    }
    response = admin.post("/admin/v1/tenants", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/admin/v1/tenants/{tenant_id}"
    created = response.json()
    assert {k: created[k] for k in body} == body
    assert created["state"] == "active"
    assert created["scimBaseUrl"] == f"https://scim.example/t/{tenant_id}/scim/v2"
    shown = tenant_of(admin, tenant_id)
    assert shown["currentPeriod"]["label"].count("-Q") == 1
    assert (shown["users"], shown["groups"], shown["liveTokens"]) == (0, 0, 0)


def test_list_has_every_tenant_by_id(admin, acme):
    response = admin.get("/admin/v1/tenants")
    assert response.status_code == 200
    listed = response.json()["tenants"]
    assert [t["id"] for t in listed] == sorted(t["id"] for t in listed)
    (mine,) = [t for t in listed if t["id"] == acme]
    assert mine["name"] == mine["company"] == "Acme"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"id": "Bad_Id"}, 400, "invalid tenant id"),
        ({"id": ""}, 400, "invalid tenant id ''"),
        ({"name": "no id"}, 400, "1 missing field: 'id'"),
        (
            {"id": "{t}", "plan": "x"},
            400,
            "1 unknown field: 'plan' (known: id, name, company, contractStart, billingPeriod)",
        ),
        ({"id": "{t}", "name": 7}, 400, "name must be a string, got 7"),
        ({"id": "{t}", "billingPeriod": "weekly"}, 400, "unknown billing period"),
        ({"id": "{t}", "billingPeriod": "yearly"}, 400, "set the contract start too"),
        ({"id": "{t}", "contractStart": "2026-13-01"}, 400, "invalid contract start"),
        ({"id": "{t}", "company": "x" * 256}, 400, "longer than 255"),
        ({"id": "{t}", "company": ""}, 400, "the company name cannot be empty"),
        ([], 400, "the body must be a JSON object"),
    ],
)
def test_bad_create_is_400_and_creates_nothing(admin, tenant_id, body, status, detail):
    if isinstance(body, dict):
        body = {k: v.format(t=tenant_id) if isinstance(v, str) else v for k, v in body.items()}
    refused(admin.post("/admin/v1/tenants", json=body), status, detail)
    refused(admin.get(f"/admin/v1/tenants/{tenant_id}"), 404, "no tenant")


def test_duplicate_create_is_409(admin, acme):
    refused(admin.post("/admin/v1/tenants", json={"id": acme}), 409, "already exists")


def test_patch_renames_and_sets_company_and_terms(admin, acme):
    body = {
        "name": "Acme Nordic",
        "company": "Acme Nordic AS",
        "contractStart": "2026-01-01",
        "billingPeriod": "half-yearly",
    }
    response = admin.patch(f"/admin/v1/tenants/{acme}", json=body)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in body} == body
    report = admin.get(f"/admin/v1/tenants/{acme}/reports/usage?period=2026-H2")
    assert report.status_code == 200, report.text
    assert report.json()["billing_period"] == "half-yearly"
    refused(
        admin.get(f"/admin/v1/tenants/{acme}/reports/usage?period=2026-Q4"),
        400,
        "use 2026-H2 (2026-07-01 to 2027-01-01)",
    )


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"billingPeriod": "daily"}, 400, "unknown billing period 'daily'"),
        ({"name": ""}, 400, "the name cannot be empty"),
        ({"name": " "}, 400, "the name cannot be empty"),
        ({"company": ""}, 400, "the company name cannot be empty"),
        ({"contractStart": "2026-02-29"}, 400, "invalid contract start"),
        ({"contractStart": None}, 400, "contractStart must be a string, got null"),
        (
            {"id": "other"},
            400,
            "1 unknown field: 'id' (known: name, company, contractStart, billingPeriod)",
        ),
        ({}, 400, "send at least one of name, company, contractStart, billingPeriod"),
        ({"contractStart": "2021-01-01"}, 409, "its first period (2020) ended on 2021-01-01"),
        ({"billingPeriod": "monthly"}, 409, "would move periods already billed"),
    ],
)
def test_bad_patch_is_4xx_and_changes_nothing(admin, acme, body, status, detail):
    locked = {"contractStart": "2020-01-01", "billingPeriod": "yearly"}
    assert admin.patch(f"/admin/v1/tenants/{acme}", json=locked).status_code == 200
    before = tenant_of(admin, acme)
    refused(admin.patch(f"/admin/v1/tenants/{acme}", json=body), status, detail)
    assert tenant_of(admin, acme) == before


def test_malformed_json_is_400(admin, acme):
    response = admin.patch(
        f"/admin/v1/tenants/{acme}",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    refused(response, 400, "malformed JSON")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/suspend"),
        ("POST", "/resume"),
    ],
)
def test_unknown_tenant_is_404(admin, method, path):
    body = {"name": "x"} if method == "PATCH" else None
    response = admin.request(method, f"/admin/v1/tenants/no-such-tenant{path}", json=body)
    refused(response, 404, "no tenant 'no-such-tenant'")


def test_tenant_tokens_and_no_token_cannot_reach_the_tenant_api(db, admin, acme):
    token = run(db, lambda tx: tokens.issue(tx, acme, "entra"))
    for headers in ({"Authorization": f"Bearer {token}"}, {"Authorization": ""}):
        assert admin.get("/admin/v1/tenants", headers=headers).status_code == 401
        assert admin.delete(f"/admin/v1/tenants/{acme}", headers=headers).status_code == 401
    assert tenant_of(admin, acme)["state"] == "active"


def test_suspended_tenant_scim_api_is_403_admin_api_works_until_resumed(db, admin, acme):
    scim = {"Authorization": f"Bearer {run(db, lambda tx: tokens.issue(tx, acme, 'entra'))}"}
    base = f"/t/{acme}/scim/v2"
    new_user = {"schemas": [USER], "userName": "alice"}
    assert admin.post(f"{base}/Users", json=new_user, headers=scim).status_code == 201
    suspended = admin.post(f"/admin/v1/tenants/{acme}/suspend")
    assert suspended.status_code == 200 and suspended.json()["state"] == "suspended"
    since = suspended.json()["suspended"]
    assert admin.post(f"/admin/v1/tenants/{acme}/suspend").json()["suspended"] == since
    for method, path, body in [
        ("GET", "/Users", None),
        ("POST", "/Users", {"schemas": [USER], "userName": "bob"}),
        ("GET", "/ServiceProviderConfig", None),
        (
            "POST",
            "/Bulk",
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []},
        ),
    ]:
        refused(admin.request(method, base + path, json=body, headers=scim), 403, "is suspended")
    # The admin API still works on it, and a rule can be added.
    assert admin.get(f"/admin/v1/tenants/{acme}/rules").status_code == 200
    assert admin.get(f"/admin/v1/tenants/{acme}/license-set").status_code == 200
    assert tenant_of(admin, acme)["users"] == 1
    resumed = admin.post(f"/admin/v1/tenants/{acme}/resume")
    assert resumed.json()["state"] == "active" and resumed.json()["suspended"] is None
    users = admin.get(f"{base}/Users", headers=scim)
    assert users.status_code == 200 and users.json()["totalResults"] == 1


@pytest.fixture
def licensed(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Sales-Premium", [alice, bob])
    token = run(db, lambda tx: tokens.issue(tx, tenant_id, "entra"))
    return {"Authorization": f"Bearer {token}"}


def test_delete_releases_licenses_keeps_reports_and_refuses_changes(admin, licensed, tenant_id):
    refused(admin.delete(f"/admin/v1/tenants/{tenant_id}?purge=maybe"), 400, "purge must be")
    assert tenant_of(admin, tenant_id)["state"] == "active"
    response = admin.delete(f"/admin/v1/tenants/{tenant_id}")
    assert response.status_code == 200, response.text
    deletion = response.json()
    assert deletion["purged"] is False
    assert (deletion["users"], deletion["groups"], deletion["liveTokens"]) == (2, 1, 1)
    assert deletion["licensesReleased"] > 0
    assert tenant_of(admin, tenant_id)["state"] == "deleted"
    # Its token is gone: the SCIM API answers as for any unknown token.
    gone = admin.get(f"/t/{tenant_id}/scim/v2/Users", headers=licensed)
    assert gone.status_code == 401
    report = admin.get(f"/admin/v1/tenants/{tenant_id}/reports/usage?period={NOW_PERIOD}")
    assert report.status_code == 200, report.text
    plans = {p["name"]: p for p in report.json()["plans"]}
    assert plans["Sales-Premium"]["peak"] == 1 and plans["Sales-Premium"]["in_use_at_end"] == 0
    for method, path, body in [
        ("PATCH", "", {"name": "x"}),
        ("POST", "/suspend", None),
        ("POST", "/resume", None),
        ("DELETE", "", None),
        ("POST", "/rules", {"scope": "all", "plans": "Sales-Premium"}),
    ]:
        answer = admin.request(method, f"/admin/v1/tenants/{tenant_id}{path}", json=body)
        refused(answer, 409, "was deleted")
    # Its license status and Licenses page answer without a license set installed.
    for path in ("/license-set", "/license"):
        assert admin.get(f"/admin/v1/tenants/{tenant_id}{path}").status_code < 500
    refused(admin.post("/admin/v1/tenants", json={"id": tenant_id}), 409, "purge it")
    purged = admin.delete(f"/admin/v1/tenants/{tenant_id}?purge=true")
    assert purged.status_code == 200 and purged.json()["purged"] is True
    refused(admin.get(f"/admin/v1/tenants/{tenant_id}"), 404, "no tenant")
    assert admin.post("/admin/v1/tenants", json={"id": tenant_id}).status_code == 201
