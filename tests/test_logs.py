"""Structured logs on the real app, SQLite and PostgreSQL: one JSON line per
request and one per provisioning decision, both carrying the request id the
response echoes; never a credential or a query string."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client import REGISTRY

from licensing_core.license_set import license_set_to_json, load_default
from licensing_core.signing import builtin_test_key, sign_license_set
from scimsrv.logs import JsonLines
from scimsrv.metrics.telemetry import Telemetry
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.services.users import create_user
from scimsrv.settings import Settings
from tests.licensing_helpers import make_tenant
from tests.scim_client import USER, Clock, live_tenant, operator_headers
from tests.use_cases import user_resource


@contextmanager
def json_lines() -> Iterator[list[dict]]:
    """The lines the service's loggers write inside the block, formatted as
    ``scimsrv serve`` formats them and parsed back (filled in on exit)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("scimsrv")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def of(lines: list[dict], logger: str) -> list[dict]:
    return [line for line in lines if line["logger"] == logger]


@pytest.fixture
def setup(db, tenant_id):
    client, tenant = live_tenant(db, tenant_id, Clock(), seats=1)
    with client:
        yield client, tenant, operator_headers(db)


def test_each_request_is_one_line_with_route_template_status_and_the_echoed_request_id(setup):
    client, tenant, _ = setup
    alice = tenant.user("alice@example.com")
    with json_lines() as lines:
        sent = client.get(
            f"{tenant.base}/Users/{alice['id']}?attributes=userName&access_token=secret-in-query",
            headers={**tenant.headers, "X-Request-Id": "idp-run-7"},
        )
        made = client.get(f"{tenant.base}/Users", headers={**tenant.headers, "X-Request-Id": "a b"})
    assert sent.status_code == 200 and sent.headers["X-Request-Id"] == "idp-run-7"
    first, second = of(lines, "scimsrv.access")
    assert first["request_id"] == "idp-run-7" and first["message"] == "request"
    assert first["route"] == "/t/{tenant}/scim/v2/Users/{id}"
    assert (first["method"], first["tenant"], first["status"]) == ("GET", tenant.tenant_id, 200)
    assert isinstance(first["duration_ms"], int | float)
    # An id the client sends that is not a sane token is replaced by one of ours.
    assert second["request_id"] == made.headers["X-Request-Id"] != "a b"
    written = json.dumps(lines)
    assert "secret" not in written and "attributes" not in written
    assert alice["id"] not in written
    assert tenant.headers["Authorization"].split()[1] not in written


def test_a_token_sent_as_the_request_id_is_neither_echoed_nor_logged(setup):
    """A client pasting its token in ``X-Request-Id`` (whole, or without the
    ``scimsrv_`` marker) gets an id of ours: a kept id is at most 40
    characters (a GUID is 36) and never holds the token marker."""
    client, tenant, _ = setup
    token = tenant.headers["Authorization"].split()[1]
    with json_lines() as lines:
        for sent in (token, token.removeprefix("scimsrv_"), "x.scimsrv_abc"):
            answer = client.get(
                f"{tenant.base}/Users", headers={**tenant.headers, "X-Request-Id": sent}
            )
            assert answer.status_code == 200 and answer.headers["X-Request-Id"] != sent
    written = json.dumps(lines)
    assert token not in written and token.removeprefix("scimsrv_") not in written
    kept = client.get(
        f"{tenant.base}/Users",
        headers={**tenant.headers, "X-Request-Id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
    )
    assert kept.headers["X-Request-Id"] == "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_each_provisioning_decision_is_one_line_carrying_the_requests_id(setup):
    client, tenant, _ = setup
    alice, bob = tenant.user("alice@example.com"), tenant.user("bob@example.com")
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales-Premium",
        "members": [{"value": alice["id"]}, {"value": bob["id"]}],
    }
    with json_lines() as lines:
        response = client.post(
            f"{tenant.base}/Groups", json=body, headers={**tenant.headers, "X-Request-Id": "grp-1"}
        )
    assert response.status_code == 201, response.text
    decisions = {line["user"]: line for line in of(lines, "scimsrv.provisioning")}
    assert set(decisions) == {"alice@example.com", "bob@example.com"}  # one seat: bob waits
    licensed, pending = decisions["alice@example.com"], decisions["bob@example.com"]
    assert licensed["message"] == "provisioning decision"
    assert (licensed["plans_before"], licensed["plans_after"]) == ("", "Sales-Premium")
    assert (licensed["state"], licensed["reason"], licensed["scim_id"]) == (
        "licensed",
        "",
        alice["id"],
    )
    assert (pending["plans_before"], pending["plans_after"]) == ("", "")
    assert pending["state"] == "pending"
    assert pending["requested"] == "Sales-Premium" and "sales-premium" in pending["reason"]
    for line in (licensed, pending):
        assert line["request_id"] == "grp-1" and line["tenant"] == tenant.tenant_id
        assert line["cause"] == "POST /Groups" and line["actor"].startswith("token scimsrv_")
    assert tenant.headers["Authorization"].split()[1] not in json.dumps(lines)


def test_a_release_and_the_waiting_user_it_serves_are_two_decisions(setup):
    _, tenant, _ = setup
    alice, bob = tenant.user("alice@example.com"), tenant.user("bob@example.com")
    group = tenant.group("Sales-Premium", [alice["id"], bob["id"]])
    with json_lines() as lines:
        tenant.patch(
            f"/Groups/{group['id']}",
            {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
        )
    decisions = {line["user"]: line for line in of(lines, "scimsrv.provisioning")}
    released, served = decisions["alice@example.com"], decisions["bob@example.com"]
    assert (released["plans_before"], released["plans_after"], released["state"]) == (
        "Sales-Premium",
        "",
        "none",
    )
    assert (served["plans_before"], served["plans_after"], served["state"]) == (
        "",
        "Sales-Premium",
        "licensed",
    )


def test_a_dry_run_logs_no_decision_and_its_commit_does(setup):
    client, tenant, operator = setup
    tenant.user("alice@example.com")
    rule = {"scope": "all", "plans": "Service-Essentials"}
    rules = f"/admin/v1/tenants/{tenant.tenant_id}/rules"
    with json_lines() as previewed:
        assert client.post(f"{rules}?dryRun=true", json=rule, headers=operator).status_code == 200
    assert of(previewed, "scimsrv.provisioning") == []
    with json_lines() as applied:
        assert client.post(rules, json=rule, headers=operator).status_code in (200, 201)
    [decision] = of(applied, "scimsrv.provisioning")
    assert decision["user"] == "alice@example.com"
    assert decision["plans_after"] == "Service-Essentials"


def test_the_users_a_license_import_serves_are_logged(setup):
    client, tenant, operator = setup
    alice, bob = tenant.user("alice@example.com"), tenant.user("bob@example.com")
    tenant.group("Marketing-Premium", [alice["id"], bob["id"]])
    seats = load_default().with_seats({"Marketing-Premium": 2})
    larger = sign_license_set(seats, builtin_test_key())
    with json_lines() as lines:
        imported = client.post(
            f"/admin/v1/tenants/{tenant.tenant_id}/license-set",
            json=license_set_to_json(larger),
            headers=operator,
        )
    assert imported.status_code == 200, imported.text
    [served] = of(lines, "scimsrv.provisioning")
    assert (served["user"], served["plans_after"], served["state"]) == (
        "bob@example.com",
        "Marketing-Premium",
        "licensed",
    )
    assert served["cause"] == "POST license-set"


class Abandoned(Exception):
    pass


def test_a_write_rolled_back_after_deciding_logs_and_counts_nothing(db, tenant_id):
    make_tenant(db, tenant_id)
    service = Service(db, Settings(), observer=Telemetry())

    def create(user_name: str, then_fail: bool):
        def work(tx):
            body = {"schemas": [USER], "userName": user_name, "roles": [{"value": "Sales-Premium"}]}
            create_user(tx, user_resource(body))
            assert [d.after.name for d in tx.decided] == ["Sales-Premium"]
            if then_fail:
                raise Abandoned

        return work

    grants = {"tenant": tenant_id, "plan": "Sales-Premium"}
    with json_lines() as abandoned, pytest.raises(Abandoned):
        service.run(create("alice@example.com", True), caller=LOCAL, tenant_id=tenant_id)
    assert of(abandoned, "scimsrv.provisioning") == []
    assert REGISTRY.get_sample_value("scimsrv_plan_grants_total", grants) is None
    with json_lines() as committed:
        service.run(create("bob@example.com", False), caller=LOCAL, tenant_id=tenant_id)
    [decision] = of(committed, "scimsrv.provisioning")
    assert decision["user"] == "bob@example.com" and decision["actor"].startswith("cli ")
    assert REGISTRY.get_sample_value("scimsrv_plan_grants_total", grants) == 1
