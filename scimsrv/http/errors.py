"""The one place where exceptions become HTTP responses (RFC 7644 §3.12).

Every error the service answers, 404 and 405 of unknown paths and methods
included, is a SCIM Error body with ``application/scim+json``. Domain errors
of the licensing core get their status here, and only here; an exception
nobody expected is a 500 (:mod:`scimsrv.http.middleware`), logged with its
traceback, never shown to the client. A write refused for what it asks (a
4xx; not for its credential) is recorded in the tenant's audit log with the
status answered here.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from licensing_core.activation import ImportRejected
from licensing_core.errors import (
    InvalidCombination,
    InvalidLicenseSet,
    LicenseExpired,
    LicensingError,
    UnknownTenant,
)
from licensing_core.periods import InvalidPeriod
from licensing_core.signing import KeyProblem
from licensing_core.tenants import InvalidTenant
from scimsrv.http.admin.views import import_view
from scimsrv.http.auth import ADMIN_CHALLENGE, CHALLENGE, caller, is_admin
from scimsrv.http.bodies import SCIM_CONTENT_TYPE
from scimsrv.scim.errors import ScimError, error_body
from scimsrv.services.errors import Busy, Unauthorized


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(error.status, error.detail, error.scim_type),
        status_code=error.status,
        media_type=SCIM_CONTENT_TYPE,
        headers=headers,
    )


def domain_error(exc: LicensingError) -> ScimError:
    """The status of each licensing-core error."""
    if isinstance(exc, UnknownTenant):
        return ScimError(404, str(exc))
    if isinstance(exc, InvalidCombination | InvalidPeriod | InvalidLicenseSet | InvalidTenant):
        return ScimError(400, str(exc), "invalidValue")
    if isinstance(exc, LicenseExpired):
        return ScimError(403, str(exc))
    if isinstance(exc, KeyProblem):
        # The server's own key configuration: nothing the client can fix.
        return ScimError(503, f"license keys unusable: {exc}")
    return ScimError(409, str(exc))


async def scim_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    return error_response(exc)


async def licensing_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LicensingError)
    return error_response(domain_error(exc))


async def import_rejected(_request: Request, exc: Exception) -> Response:
    """A license set that does not verify or fit: 409 with the per-module report."""
    assert isinstance(exc, ImportRejected)
    return JSONResponse({"detail": str(exc), **import_view(exc.report)}, status_code=409)


async def unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthorized)
    challenge = ADMIN_CHALLENGE if is_admin(request) else CHALLENGE
    return error_response(ScimError(401, exc.detail), headers=challenge)


async def busy(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Busy)
    return error_response(ScimError(503, exc.detail), headers={"Retry-After": str(exc.retry_after)})


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method) as SCIM errors; keeps ``Allow``."""
    assert isinstance(exc, HTTPException)
    detail = f"{exc.detail}: {request.method} {request.url.path}"
    return error_response(ScimError(exc.status_code, detail), headers=exc.headers)


def audited(handler):
    """``handler``, recording the refusal of an audited write
    (:func:`scimsrv.http.auth.run` marks it) with the status it answers."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        refused = getattr(request.state, "refused", None)
        if refused is not None and 400 <= response.status_code < 500:
            await run_in_threadpool(
                request.app.state.service.refused,
                caller(request),
                request.path_params.get("tenant", ""),
                refused,
                response.status_code,
                getattr(exc, "detail", None) or str(exc),
            )
        return response

    return handle


EXCEPTION_HANDLERS = {
    ScimError: audited(scim_error),
    ImportRejected: audited(import_rejected),
    LicensingError: audited(licensing_error),
    Unauthorized: unauthorized,
    Busy: busy,
    HTTPException: http_error,
}
