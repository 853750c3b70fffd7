"""Every route under a tenant base URL needs a bearer token of that very tenant."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from licensing_core.tables import Tenant
from scimsrv.http.app import create_app
from scimsrv.http.auth import bearer_token
from scimsrv.http.bodies import SCIM_CONTENT_TYPE
from scimsrv.scim.urns import ERROR as ERROR_SCHEMA
from scimsrv.services import tokens
from tests.use_cases import tx_of

CHALLENGE = 'Bearer realm="scimsrv"'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def add_tenant(db, tenant_id: str) -> str:
    """Create a tenant row and return a fresh token for it."""
    with db.write() as session:
        session.add(Tenant(tenant_id=tenant_id, registered=datetime.now(UTC).replace(tzinfo=None)))
        session.flush()
        return tokens.issue(tx_of(session), tenant_id)


@pytest.fixture
def client(db):
    transport = httpx.ASGITransport(app=create_app(db=db))
    return httpx.AsyncClient(transport=transport, base_url="http://scim.test")


def spc_url(tenant_id: str) -> str:
    return f"/t/{tenant_id}/scim/v2/ServiceProviderConfig"


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.headers["content-type"] == SCIM_CONTENT_TYPE
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "401"


@pytest.mark.anyio
async def test_valid_token_of_the_tenant_is_let_through(db, client, tenant_id):
    token = add_tenant(db, tenant_id)
    async with client:
        response = await client.get(
            spc_url(tenant_id), headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200


@pytest.mark.anyio
async def test_bearer_scheme_is_case_insensitive(db, client, tenant_id):
    token = add_tenant(db, tenant_id)
    async with client:
        response = await client.get(
            spc_url(tenant_id), headers={"Authorization": f"bearer {token}"}
        )
    assert response.status_code == 200


@pytest.mark.anyio
async def test_request_without_authorization_is_401_with_challenge(db, client, tenant_id):
    add_tenant(db, tenant_id)
    async with client:
        assert_unauthorized(await client.get(spc_url(tenant_id)))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer"],
)
@pytest.mark.anyio
async def test_bad_authorization_is_401_with_challenge(db, client, tenant_id, authorization):
    add_tenant(db, tenant_id)
    async with client:
        response = await client.get(spc_url(tenant_id), headers={"Authorization": authorization})
    assert_unauthorized(response)


@pytest.mark.anyio
async def test_revoked_token_is_401(db, client, tenant_id):
    token = add_tenant(db, tenant_id)
    with db.write() as session:
        tokens.revoke(tx_of(session), tenant_id, token[: tokens.PREFIX_LENGTH])
    async with client:
        response = await client.get(
            spc_url(tenant_id), headers={"Authorization": f"Bearer {token}"}
        )
    assert_unauthorized(response)


@pytest.mark.anyio
async def test_token_of_tenant_a_on_tenant_b_url_is_401(db, client, tenant_id):
    token_a = add_tenant(db, f"{tenant_id}-a")
    add_tenant(db, f"{tenant_id}-b")
    async with client:
        for path in (spc_url(f"{tenant_id}-b"), f"/t/{tenant_id}-b/scim/v2/Users"):
            response = await client.get(path, headers={"Authorization": f"Bearer {token_a}"})
            assert_unauthorized(response)


@pytest.mark.anyio
async def test_unknown_tenant_answers_like_a_bad_token(db, client, tenant_id):
    token = add_tenant(db, tenant_id)
    async with client:
        unknown = await client.get(
            spc_url("no-such-tenant"), headers={"Authorization": f"Bearer {token}"}
        )
        bad = await client.get(spc_url(tenant_id), headers={"Authorization": "Bearer wrong"})
    assert_unauthorized(unknown)
    assert unknown.json() == bad.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Users"),
        ("POST", "/Users"),
        ("PATCH", "/Users/1"),
        ("DELETE", "/Groups/1"),
        ("POST", "/Bulk"),
        ("POST", "/.search"),
        ("GET", "/Schemas"),
        ("GET", "/ResourceTypes"),
    ],
)
@pytest.mark.anyio
async def test_every_route_under_the_tenant_base_needs_auth(db, client, tenant_id, method, path):
    add_tenant(db, tenant_id)
    async with client:
        response = await client.request(method, f"/t/{tenant_id}/scim/v2{path}")
    assert_unauthorized(response)


@pytest.mark.anyio
async def test_an_unknown_endpoint_is_404_whether_or_not_the_tenant_exists(db, client, tenant_id):
    add_tenant(db, tenant_id)
    async with client:
        for tenant in (tenant_id, tenant_id + "-none"):
            response = await client.get(f"/t/{tenant}/scim/v2/no-such-endpoint")
            assert response.status_code == 404


@pytest.mark.anyio
async def test_health_endpoints_need_no_auth(client):
    async with client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("bearer   abc  ", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer", None),
        ("Basic abc", None),
    ],
)
def test_bearer_token_parsing(header, token):
    assert bearer_token(header) == token
