"""The app's error surface: every SCIM answer, errors included, is application/scim+json."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from licensing_core.db import Database
from licensing_core.tables import Tenant
from scimsrv.http.app import create_app
from scimsrv.http.bodies import SCIM_CONTENT_TYPE
from scimsrv.scim.errors import ScimError
from scimsrv.scim.urns import ERROR as ERROR_SCHEMA
from scimsrv.services import tokens
from tests.use_cases import tx_of


def assert_scim_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    return body


@pytest.fixture
def app(database_url):
    db = Database.from_url(database_url)
    yield create_app(db=db)
    db.dispose()


@pytest.fixture
def token(app, tenant_id) -> str:
    with app.state.service.db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime.now(UTC).replace(tzinfo=None)))
        session.flush()
        return tokens.issue(tx_of(session), tenant_id)


@pytest.mark.parametrize("path", ["/", "/nope", "/t/x", "/t/x/scim/v1/Users", "/scim/v2/Users"])
def test_unknown_path_is_scim_404(app, path):
    assert_scim_error(TestClient(app).get(path), 404)


def test_unknown_path_under_tenant_base_is_scim_404_once_authenticated(app, tenant_id, token):
    response = TestClient(app).get(
        f"/t/{tenant_id}/scim/v2/Pets", headers={"Authorization": f"Bearer {token}"}
    )
    assert_scim_error(response, 404)


def test_wrong_method_is_scim_405_with_allow(app, tenant_id, token):
    client = TestClient(app)
    response = client.delete("/healthz")
    assert_scim_error(response, 405)
    assert "GET" in response.headers["allow"]
    response = client.put(
        f"/t/{tenant_id}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
    )
    body = assert_scim_error(response, 405)
    assert "PUT" in body["detail"]


def test_scim_error_raised_by_an_endpoint_becomes_its_scim_response(app):
    async def conflict(_request: Request):
        raise ScimError(409, "userName taken", "uniqueness")

    app.router.routes.append(Route("/conflict", conflict))
    body = assert_scim_error(TestClient(app).get("/conflict"), 409)
    assert body["scimType"] == "uniqueness"
    assert body["detail"] == "userName taken"


def test_unexpected_exception_is_scim_500_without_internals_and_is_logged(app, caplog):
    async def boom(_request: Request):
        raise RuntimeError("secret connection string postgres://u:pw@db")

    app.router.routes.append(Route("/boom", boom))
    with caplog.at_level(logging.ERROR, logger="scimsrv"):
        response = TestClient(app).get("/boom")
    body = assert_scim_error(response, 500)
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"] == "internal server error"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged, "the traceback must reach the log"


def test_healthz_answers_without_a_database_query(app):
    response = TestClient(app).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_while_the_database_answers(app):
    assert TestClient(app).get("/readyz").json() == {"status": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    missing = tmp_path / "no-such-dir" / "x.db"
    app = create_app(db=Database.from_url(f"sqlite:///{missing}"))
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503
    assert str(missing) not in response.text
