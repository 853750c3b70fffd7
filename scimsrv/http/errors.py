"""The one place where exceptions become HTTP responses (RFC 7644 §3.12).

Every error the service answers, 404 and 405 of unknown paths and methods
included, is a SCIM Error body with ``application/scim+json``; only a
browser on the admin paths (its ``Accept`` names ``text/html``), where the
Licenses page lives, gets the same status, headers and detail as an HTML
page (:func:`answer`): a 401 there is the sign-in page a browser
shows when its Basic prompt is cancelled, not raw JSON. Domain errors
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
from starlette.status import HTTP_401_UNAUTHORIZED

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
from licensing_core.text import InvalidText
from scimsrv.http.admin.views import import_view
from scimsrv.http.auth import ADMIN_CHALLENGE, CHALLENGE, caller, is_admin
from scimsrv.http.bodies import SCIM_CONTENT_TYPE
from scimsrv.http.pages.rendering import page
from scimsrv.scim.errors import ScimError, error_body
from scimsrv.services.errors import Busy, Unauthorized


def error_response(error: ScimError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        error_body(error.status, error.detail, error.scim_type),
        status_code=error.status,
        media_type=SCIM_CONTENT_TYPE,
        headers=headers,
    )


def answer(request: Request, error: ScimError, headers: dict[str, str] | None = None) -> Response:
    """``error`` as the caller reads it: an HTML page for a browser on an admin path
    (its ``Accept`` names ``text/html``), else the SCIM Error JSON."""
    if is_admin(request) and "text/html" in request.headers.get("accept", "").lower():
        heading = "Sign in" if error.status == HTTP_401_UNAUTHORIZED else "Not possible"
        context = {"status": error.status, "heading": heading, "detail": error.detail}
        return page(request, "error.html", context, status_code=error.status, headers=headers)
    return error_response(error, headers)


def domain_error(exc: LicensingError) -> ScimError:
    """The status of each licensing-core error."""
    if isinstance(exc, UnknownTenant):
        return ScimError(404, str(exc))
    invalid = InvalidCombination | InvalidPeriod | InvalidLicenseSet | InvalidTenant | InvalidText
    if isinstance(exc, invalid):
        return ScimError(400, str(exc), "invalidValue")
    if isinstance(exc, LicenseExpired):
        return ScimError(403, str(exc))
    if isinstance(exc, KeyProblem):
        # The server's own key configuration: nothing the client can fix.
        return ScimError(503, f"license keys unusable: {exc}")
    return ScimError(409, str(exc))


async def scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    return answer(request, exc)


async def licensing_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LicensingError)
    return answer(request, domain_error(exc))


async def import_rejected(_request: Request, exc: Exception) -> Response:
    """A license set that does not verify or fit: 409 with the per-module report."""
    assert isinstance(exc, ImportRejected)
    return JSONResponse({"detail": str(exc), **import_view(exc.report)}, status_code=409)


async def unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unauthorized)
    challenge = ADMIN_CHALLENGE if is_admin(request) else CHALLENGE
    return answer(request, ScimError(401, exc.detail), headers=challenge)


async def busy(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Busy)
    retry = {"Retry-After": str(exc.retry_after)}
    return answer(request, ScimError(503, exc.detail), headers=retry)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method) as SCIM errors; keeps ``Allow``."""
    assert isinstance(exc, HTTPException)
    detail = f"{exc.detail}: {request.method} {request.url.path}"
    return answer(request, ScimError(exc.status_code, detail), headers=exc.headers)


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
