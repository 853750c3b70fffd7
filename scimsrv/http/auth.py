"""Token authentication in front of every tenant SCIM route (RFC 7644 §2) and
of the operators' admin API.

A request under ``/t/{tenant}/scim/v2`` passes only with ``Authorization:
Bearer <token>`` naming a live token of that very tenant. Every refusal is
the same 401, whether the token is missing, wrong, revoked, another
tenant's, or the tenant does not exist, so the answer never tells which
tenants exist.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from licensing_core.db import Database
from scimsrv.scim.errors import ScimError, error_response
from scimsrv.services import tokens

REALM = "scimsrv"
CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
ADMIN_CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}", Basic realm="{REALM} admin"'}


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def operator_credential(authorization: str | None) -> str | None:
    """The operator token of a Bearer header, or the password of a Basic one
    (so a browser can open the Licenses page: any user name, the token as password)."""
    token = bearer_token(authorization)
    if token is not None or not authorization:
        return token
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    password = decoded.partition(":")[2]
    return password or None


def check(db: Database, tenant_id: str | None, presented: str) -> bool:
    """Whether ``presented`` is a live token of ``tenant_id`` (None: an operator's)."""
    with db.read() as session:
        return tokens.authenticate(session, tenant_id, presented)


class TokenGate:
    """ASGI middleware: 401 with a challenge unless the request carries a live
    token of the owner the subclass names.

    One indexed lookup, run where the endpoints run their database work (on
    the event loop): a hop to a worker thread cost more than the lookup
    itself. Never cached: a revoked token fails at once.
    """

    challenge = CHALLENGE
    missing = "missing bearer token"
    invalid = "invalid bearer token"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def credential(self, request: Request) -> str | None:
        return bearer_token(request.headers.get("authorization"))

    def owner(self, request: Request) -> str | None:
        """The tenant whose token is required (None: an operator token)."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        presented = self.credential(request)
        owner = self.owner(request)
        if presented is None or not check(request.app.state.db, owner, presented):
            detail = self.missing if presented is None else self.invalid
            response = error_response(ScimError(401, detail), headers=self.challenge)
            await response(scope, receive, send)
            return
        if owner is not None:
            request.state.tenant_id = owner
        await self.app(scope, receive, send)


class TenantAuth(TokenGate):
    """The tenant mount: the bearer token must be the URL's tenant's.

    On success ``request.state.tenant_id`` holds the tenant of the URL.
    """

    def owner(self, request: Request) -> str | None:
        return request.path_params.get("tenant", "")


class OperatorAuth(TokenGate):
    """The admin mount: an operator token, as Bearer or as a Basic password."""

    challenge = ADMIN_CHALLENGE
    missing = "missing operator token"
    invalid = "invalid operator token"

    def credential(self, request: Request) -> str | None:
        return operator_credential(request.headers.get("authorization"))

    def owner(self, request: Request) -> str | None:
        return None
