"""Bearer-token authentication in front of every tenant SCIM route (RFC 7644 §2).

A request under ``/t/{tenant}/scim/v2`` passes only with ``Authorization:
Bearer <token>`` naming a live token of that very tenant. Every refusal is
the same 401, whether the token is missing, wrong, revoked, another
tenant's, or the tenant does not exist, so the answer never tells which
tenants exist.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from licensing_core.db import Database
from scimsrv import tokens
from scimsrv.errors import ScimError, error_response

REALM = "scimsrv"
CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def check(db: Database, tenant_id: str, presented: str) -> bool:
    with db.read() as session:
        return tokens.authenticate(session, tenant_id, presented)


class TenantAuth:
    """ASGI middleware for the tenant mount: 401 unless the bearer token is the tenant's.

    On success ``request.state.tenant_id`` holds the tenant of the URL.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        tenant_id = request.path_params.get("tenant", "")
        presented = bearer_token(request.headers.get("authorization"))
        db: Database = request.app.state.db
        # One indexed lookup, run where the endpoints run their database work
        # (on the event loop): a hop to a worker thread cost more than the
        # lookup itself. Never cached: a revoked token fails at once.
        if presented is None or not check(db, tenant_id, presented):
            detail = "missing bearer token" if presented is None else "invalid bearer token"
            response = error_response(ScimError(401, detail), headers=CHALLENGE)
            await response(scope, receive, send)
            return
        request.state.tenant_id = tenant_id
        await self.app(scope, receive, send)
