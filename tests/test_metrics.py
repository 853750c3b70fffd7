"""GET /metrics on the real app (one process: prometheus-client's own registry),
on SQLite and PostgreSQL: who may read it, what is counted and with which
labels, the figures read from the database, and that the text parses with
prometheus-client's parser. Several workers: tests/test_metrics_live.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from starlette.testclient import TestClient

from licensing_core.db import Database
from licensing_core.tables import Tenant as TenantRow
from scimsrv.http.admin.openapi import document
from scimsrv.http.app import ADMIN_BASE, create_app
from scimsrv.metrics.exposition import exposition
from scimsrv.metrics.telemetry import Telemetry
from scimsrv.services.errors import Busy
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.settings import Settings
from tests.licensing_helpers import make_tenant
from tests.metrics_helpers import Samples, parse, total, value
from tests.scim_client import Clock, Tenant, operator_headers

METRICS_TOKEN = "metrics-" + "x" * 32
USERS_ID = "/t/{tenant}/scim/v2/Users/{id}"
GROUPS_ID = "/t/{tenant}/scim/v2/Groups/{id}"


@dataclass
class Setup:
    client: TestClient
    tenant: Tenant
    operator: dict[str, str]

    def scrape(self, headers: dict[str, str] | None = None) -> Samples:
        response = self.client.get(
            "/metrics", headers=headers or {"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return parse(response.text)


def app_with(db, tenant_id: str, seats: int = 2, **settings) -> tuple[TestClient, Tenant]:
    make_tenant(db, tenant_id, seats=seats)
    clock = Clock()
    config = Settings(metrics_token=METRICS_TOKEN, **settings)
    client = TestClient(create_app(db=db, settings=config, clock=clock))
    return client, Tenant(client, db, tenant_id, clock)


@pytest.fixture
def setup(db, tenant_id):
    client, tenant = app_with(db, tenant_id)
    with client:
        yield Setup(client, tenant, operator_headers(db))


def test_metrics_answer_the_operator_token_or_the_metrics_token_and_nothing_else(setup):
    client, tenant = setup.client, setup.tenant
    for headers in ({}, tenant.headers, {"Authorization": "Bearer wrong"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["status"] == "401"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "scimsrv_" not in refused.text
    assert setup.scrape(setup.operator)[("scimsrv_metrics_database_up", frozenset())] == 1
    assert setup.scrape()[("scimsrv_metrics_database_up", frozenset())] == 1


def test_requests_are_counted_by_tenant_route_template_and_status(setup):
    tenant = setup.tenant
    before = setup.scrape()
    user = tenant.user("alice@example.com")
    for _ in range(2):
        tenant.ok("GET", f"/Users/{user['id']}")
    missing = str(uuid.uuid4())
    assert tenant.request("GET", f"/Users/{missing}").status_code == 404
    exposed = setup.client.get("/metrics", headers=setup.operator).text
    after = parse(exposed)

    def requests(method: str, route: str, status: str) -> float:
        labels = {"tenant": tenant.tenant_id, "method": method, "route": route, "status": status}
        return value(after, "scimsrv_http_requests_total", **labels)

    assert requests("POST", "/t/{tenant}/scim/v2/Users", "201") == 1
    assert requests("GET", USERS_ID, "200") == 2
    assert requests("GET", USERS_ID, "404") == 1
    assert total(after, "scimsrv_http_requests_total", tenant=tenant.tenant_id) == 4
    duration = "scimsrv_http_request_duration_seconds_count"
    labels = {"method": "GET", "route": USERS_ID}
    assert value(after, duration, **labels) - value(before, duration, **labels) == 3
    assert user["id"] not in exposed and missing not in exposed


def test_a_route_label_is_the_plain_template_the_openapi_document_names(setup):
    client, tenant = setup.client, setup.tenant
    rules = f"/admin/v1/tenants/{tenant.tenant_id}/rules"
    added = client.post(rules, json={"scope": "all"}, headers=setup.operator)
    assert added.status_code == 201, added.text
    changed = client.patch(
        f"{rules}/{added.json()['rule']['id']}", json={"enabled": False}, headers=setup.operator
    )
    assert changed.status_code == 200, changed.text
    route = "/admin/v1/tenants/{tenant}/rules/{rule}"
    assert route.removeprefix(ADMIN_BASE) in document()["paths"]
    labels = {"tenant": tenant.tenant_id, "method": "PATCH", "route": route, "status": "200"}
    assert value(setup.scrape(), "scimsrv_http_requests_total", **labels) == 1


def test_a_tenant_label_names_only_a_tenant_this_process_has_seen_exist(setup):
    client, tenant = setup.client, setup.tenant
    wrong = {"Authorization": "Bearer wrong"}
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    assert client.get(f"/t/{ghost}/scim/v2/Users", headers=tenant.headers).status_code == 401
    assert client.get(f"/admin/v1/tenants/{ghost}/rules", headers=setup.operator).status_code == (
        404
    )
    # A refused token proves nothing: until the tenant's own token passes, no label.
    assert client.get(f"{tenant.base}/Users", headers=wrong).status_code == 401
    tenant.ok("GET", "/Users")
    assert client.get(f"{tenant.base}/Users", headers=wrong).status_code == 401
    exposed = client.get("/metrics", headers=setup.operator).text
    samples = parse(exposed)
    route = "/t/{tenant}/scim/v2/Users"
    unnamed = {"tenant": "", "method": "GET", "route": route, "status": "401"}
    named = {**unnamed, "tenant": tenant.tenant_id}
    assert value(samples, "scimsrv_http_requests_total", **named) == 1
    assert value(samples, "scimsrv_http_requests_total", **{**named, "status": "200"}) == 1
    assert value(samples, "scimsrv_http_requests_total", **unnamed) >= 2
    assert ghost not in exposed


def test_an_operator_reaching_a_tenant_labels_its_admin_requests(setup):
    client, tenant = setup.client, setup.tenant
    rules = f"/admin/v1/tenants/{tenant.tenant_id}/rules"
    assert client.get(rules, headers=setup.operator).status_code == 200
    labels = {
        "tenant": tenant.tenant_id,
        "method": "GET",
        "route": "/admin/v1/tenants/{tenant}/rules",
        "status": "200",
    }
    assert value(setup.scrape(), "scimsrv_http_requests_total", **labels) == 1


def test_grants_releases_and_pending_users_are_counted_per_tenant_and_plan(setup):
    tenant, tid = setup.tenant, setup.tenant.tenant_id
    users = [tenant.user(f"user{i}@example.com")["id"] for i in range(3)]
    group = tenant.group("Sales-Premium", users)  # two seats: the third user waits
    samples = setup.scrape()
    plan = {"tenant": tid, "plan": "Sales-Premium"}
    assert value(samples, "scimsrv_plan_grants_total", **plan) == 2
    assert value(samples, "scimsrv_plan_releases_total", **plan) == 0
    assert value(samples, "scimsrv_provisioning_decisions_total", tenant=tid, state="licensed") == 2
    assert value(samples, "scimsrv_provisioning_decisions_total", tenant=tid, state="pending") == 1
    assert value(samples, "scimsrv_users_pending", tenant=tid) == 1
    assert value(samples, "scimsrv_plan_seats_in_use", **plan) == 2
    assert value(samples, "scimsrv_plan_seats_bought", **plan) == 2
    assert value(samples, "scimsrv_plan_seats_unrestricted", **plan) == 0
    assert value(samples, "scimsrv_plan_seats_in_use", tenant=tid, plan="Service-Premium") == 0

    tenant.patch(
        f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{users[0]}"]'}
    )
    samples = setup.scrape()
    assert value(samples, "scimsrv_plan_grants_total", **plan) == 3  # the waiting user served
    assert value(samples, "scimsrv_plan_releases_total", **plan) == 1
    assert value(samples, "scimsrv_provisioning_decisions_total", tenant=tid, state="none") == 1
    assert value(samples, "scimsrv_users_pending", tenant=tid) == 0
    assert value(samples, "scimsrv_plan_seats_in_use", **plan) == 2


def test_a_dry_run_counts_no_decision_and_its_commit_does(setup):
    client, tenant, tid = setup.client, setup.tenant, setup.tenant.tenant_id
    tenant.user("alice@example.com")
    rule = {"scope": "all", "plans": "Service-Essentials"}
    rules = f"/admin/v1/tenants/{tid}/rules"
    previewed = client.post(f"{rules}?dryRun=true", json=rule, headers=setup.operator)
    assert previewed.status_code == 200, previewed.text
    plan = {"tenant": tid, "plan": "Service-Essentials"}
    assert value(setup.scrape(), "scimsrv_plan_grants_total", **plan) == 0
    applied = client.post(rules, json=rule, headers=setup.operator)
    assert applied.status_code in (200, 201), applied.text
    assert value(setup.scrape(), "scimsrv_plan_grants_total", **plan) == 1


def test_rate_limit_refusals_are_counted_per_tenant(db, tenant_id):
    client, tenant = app_with(db, tenant_id, rate_limit=1, rate_burst=3)
    with client:
        answers = [tenant.request("GET", "/Users").status_code for _ in range(6)]
        samples = parse(
            client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        )
    assert answers[0] == 200 and 429 in answers
    refused = value(samples, "scimsrv_rate_limit_refusals_total", tenant=tenant_id)
    assert refused == answers.count(429)


def failures(error: str, handling: str) -> float:
    labels = {"error": error, "handling": handling}
    return REGISTRY.get_sample_value("scimsrv_database_failures_total", labels) or 0.0


def test_an_unexpected_database_error_is_counted_by_its_driver_error(db):
    service = Service(db, Settings(), observer=Telemetry())
    error = "OperationalError" if db.dialect == "sqlite" else "UndefinedTable"
    before = failures(error, "unexpected")
    with pytest.raises(DBAPIError):
        service.run(lambda tx: tx.session.execute(text("SELECT * FROM nowhere")), caller=LOCAL)
    assert failures(error, "unexpected") == before + 1


def test_a_lock_wait_that_runs_out_is_counted_busy(database_url, db, tenant_id):
    make_tenant(db, tenant_id)
    impatient = Database.from_url(database_url, lock_timeout=0.2)
    service = Service(impatient, Settings(lock_timeout=0.2), observer=Telemetry())
    error = "OperationalError" if db.dialect == "sqlite" else "LockNotAvailable"
    before = failures(error, "busy")
    locking = select(TenantRow).where(TenantRow.tenant_id == tenant_id).with_for_update()
    try:
        with db.write() as holder:
            holder.execute(locking)  # SQLite: the write lock; PostgreSQL: the row
            with pytest.raises(Busy):
                service.run(lambda tx: tx.session.execute(locking), caller=LOCAL)
    finally:
        impatient.dispose()
    assert failures(error, "busy") == before + 1


def test_serialization_failures_are_counted_as_retries_then_busy(db, backend):
    if backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: it has no serialization failures")
    service = Service(db, Settings(), observer=Telemetry())
    aborted = "DO $$ BEGIN RAISE EXCEPTION 'abort' USING ERRCODE = 'serialization_failure'; END $$"
    before = {h: failures("SerializationFailure", h) for h in ("retried", "busy")}
    with pytest.raises(Busy):
        service.run(lambda tx: tx.session.execute(text(aborted)), caller=LOCAL)
    assert failures("SerializationFailure", "retried") == before["retried"] + 4
    assert failures("SerializationFailure", "busy") == before["busy"] + 1


def test_without_the_database_figures_a_scrape_still_answers_and_says_so(tmp_path):
    unmigrated = Database.from_url(f"sqlite:///{tmp_path}/empty.db")
    body, content_type = exposition(unmigrated, 1.0, None)
    unmigrated.dispose()
    samples = parse(body.decode())
    assert content_type.startswith("text/plain")
    assert samples[("scimsrv_metrics_database_up", frozenset())] == 0
    assert not any(name.startswith("scimsrv_plan_seats") for name, _ in samples)


def test_openmetrics_is_answered_to_a_scraper_that_asks_for_it(setup):
    response = setup.client.get(
        "/metrics",
        headers={**setup.operator, "Accept": "application/openmetrics-text; version=1.0.0"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
