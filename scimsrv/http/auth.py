"""Who is calling: the credential a request carries (RFC 6750 bearer token; for
the admin pages also HTTP Basic, the operator token as password), and how
an endpoint runs a use case as that caller, off the event loop.

The token itself is checked inside the use case's transaction
(:mod:`scimsrv.services.transaction`). Every refusal is the same 401,
whether the token is missing, wrong, revoked, another tenant's, or the
tenant does not exist, so the answer never tells which tenants exist.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from scimsrv.scim.values import checked_query
from scimsrv.services.audit import RequestInfo
from scimsrv.services.errors import Unauthorized
from scimsrv.services.transaction import Caller, Service, Tx

T = TypeVar("T")
REALM = "scimsrv"
CHALLENGE = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
ADMIN_CHALLENGE = {"WWW-Authenticate": f'Basic realm="{REALM} admin", Bearer realm="{REALM}"'}
# The request state's key for how its credential fared: True once it passed
# for the path's tenant, False when it was refused, absent when unchecked
# (the rate limit reads it: scimsrv.http.rate_limit).
CREDENTIAL_PASSED = "credential_passed"


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


def is_admin(request: Request) -> bool:
    return request.url.path.startswith("/admin/")


def caller(request: Request) -> Caller:
    """The tenant's token holder under ``/t/{tenant}``; an operator under ``/admin``."""
    header = request.headers.get("authorization")
    if is_admin(request):
        return Caller(operator_credential(header), None)
    return Caller(bearer_token(header), request.path_params["tenant"])


def cause(request: Request) -> str:
    """What the ledger records as the cause of a change: the method and the
    resource type or admin object, never an id (``PATCH /Groups``, ``POST rules``)."""
    path = request.url.path
    if "/scim/v2/" in path:
        return f"{request.method} /{path.split('/scim/v2/', 1)[1].split('/')[0]}"
    parts = path.split("/")
    return f"{request.method} {parts[5] if len(parts) > 5 else path}"[:64]


def request_info(request: Request) -> RequestInfo:
    """What the audit log records of a request: method, path (never the query
    string, which may carry a token) and the ``X-Request-Id`` of its log line."""
    return RequestInfo(request.method, request.url.path, getattr(request.state, "request_id", None))


async def run(
    request: Request, work: Callable[[Tx], T], *, write: bool, dry_run: bool = False
) -> T:
    """``work`` as the request's caller, for the path's tenant, in a worker thread.

    A write (not a dry run) appends its audit entry in its transaction; when
    it is refused, ``request.state.refused`` tells the error handler to
    record the refusal (:mod:`scimsrv.http.errors`). How the credential
    fared is noted under :data:`CREDENTIAL_PASSED`.
    """
    service: Service = request.app.state.service
    audited = request_info(request) if write and not dry_run else None

    def checked(tx: Tx) -> T:
        setattr(request.state, CREDENTIAL_PASSED, True)
        checked_query(request.query_params)
        return work(tx)

    try:
        return await run_in_threadpool(
            service.run,
            checked,
            caller=caller(request),
            tenant_id=request.path_params.get("tenant", ""),
            cause=cause(request),
            write=write,
            dry_run=dry_run,
            request=audited,
        )
    except Exception as exc:
        if isinstance(exc, Unauthorized):
            setattr(request.state, CREDENTIAL_PASSED, False)
        request.state.refused = audited
        raise
