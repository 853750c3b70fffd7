"""Admin report routes: the usage JSON equals the CLI's, explain streams, errors are 4xx JSON."""

from __future__ import annotations

from datetime import datetime

import pytest
from starlette.testclient import TestClient

from licensing_core.usage import usage_report
from scimsrv.http.app import create_app
from scimsrv.services import tokens
from tests.provisioning_helpers import Directory
from tests.use_cases import run

NOW = datetime(2026, 11, 20, 9, 30)


@pytest.fixture
def client(db):
    token = run(db, lambda tx: tokens.issue(tx, None, "reports"))
    app = create_app(db=db, clock=lambda: NOW)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client


@pytest.fixture
def directory(db, tenant_id):
    d = Directory(db, tenant_id, seats=1, at=datetime(2026, 9, 1))
    d.clock = datetime(2026, 10, 2)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Sales-Premium", [alice, bob])
    return d


def test_usage_json_is_the_report_counted_until_the_apps_clock(client, db, directory, tenant_id):
    response = client.get(f"/admin/v1/tenants/{tenant_id}/reports/usage?period=2026-11")
    assert response.status_code == 200
    with db.read() as session:
        expected = usage_report(session, tenant_id, "2026-11", as_of=NOW).to_json()
    assert response.json() == expected
    assert response.json()["period"]["complete"] is False
    assert response.json()["pending"]["at_end"] == 1


def test_usage_json_as_of_a_given_instant(client, db, directory, tenant_id):
    response = client.get(
        f"/admin/v1/tenants/{tenant_id}/reports/usage?period=2026-10&asOf=2027-01-01T00:00:00"
    )
    assert response.status_code == 200
    assert response.json()["period"]["complete"] is True


def test_explain_streams_the_users_behind_a_plan(client, directory, tenant_id):
    response = client.get(
        f"/admin/v1/tenants/{tenant_id}/reports/usage?period=2026-10&explain=Sales-Premium"
    )
    assert response.status_code == 200
    (alice,) = response.json()
    assert alice["name"] == "alice" and alice["to"] is None


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("", 400, "period is required"),
        ("?period=2026-Q7", 400, "invalid period"),
        ("?period=2026-10&explain=Gold", 400, "unknown plan"),
        ("?period=2026-10&asOf=tomorrow", 400, "invalid asOf"),
    ],
)
def test_bad_queries_are_4xx_json(client, directory, tenant_id, query, status, detail):
    response = client.get(f"/admin/v1/tenants/{tenant_id}/reports/usage{query}")
    assert response.status_code == status
    assert response.json()["status"] == str(status)
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("path", ["reports/usage?period=2026-10", "license"])
def test_unknown_tenant_is_404_json(client, path):
    response = client.get(f"/admin/v1/tenants/no-such-tenant/{path}")
    assert response.status_code == 404
    assert "no tenant" in response.json()["detail"]


def test_license_page_is_html_with_the_license_list(client, directory, tenant_id):
    response = client.get(f"/admin/v1/tenants/{tenant_id}/license")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Sales-Premium" in response.text and "<svg" in response.text
    assert "http://" not in response.text.replace("http://www.w3.org/2000/svg", "")
