"""The ASGI application factory: every route in one place.

Each tenant's SCIM API lives under ``/t/{tenant}/scim/v2`` (DESIGN §3),
behind :class:`scimsrv.http.auth.TenantAuth`; the operators' admin API under
``/admin/v1``, behind :class:`scimsrv.http.auth.OperatorAuth`. Every error the service answers,
including 404, 405 and unexpected failures, is a SCIM Error body with
``application/scim+json`` (RFC 7644 §3.12).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from licensing_core.db import Database
from licensing_core.errors import LicensingError
from scimsrv.http.admin.api import admin_routes
from scimsrv.http.auth import OperatorAuth, TenantAuth
from scimsrv.http.middleware import ScimServerErrors
from scimsrv.http.scim.discovery import discovery_routes
from scimsrv.http.scim.routes import resource_routes
from scimsrv.scim.errors import ScimError, domain_error, error_response
from scimsrv.settings import Settings

TENANT_BASE = "/t/{tenant}/scim/v2"
ADMIN_BASE = "/admin/v1"

log = logging.getLogger("scimsrv")


async def healthz(_request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers a query."""
    db: Database = request.app.state.db
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready", never a 500
        # The driver message may name hosts and users: log it, answer only its kind.
        log.warning("readiness check failed: %s", exc)
        detail = f"database unreachable ({exc.__class__.__name__})"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ok"})


async def scim_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    return error_response(exc)


async def licensing_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LicensingError)
    return error_response(domain_error(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method) as SCIM errors; keeps ``Allow``."""
    assert isinstance(exc, HTTPException)
    detail = f"{exc.detail}: {request.method} {request.url.path}"
    return error_response(ScimError(exc.status_code, detail), headers=exc.headers)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_app(
    db: Database | None = None,
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Starlette:
    """The app; ``clock`` (naive UTC) stamps every write, so tests can control time."""
    settings = settings or Settings()
    database = db or Database.from_url(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if db is None:  # only close what this app opened
            database.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount(
                TENANT_BASE,
                routes=[*discovery_routes(), *resource_routes()],
                middleware=[Middleware(TenantAuth)],
            ),
            Mount(ADMIN_BASE, routes=admin_routes(), middleware=[Middleware(OperatorAuth)]),
        ],
        middleware=[Middleware(ScimServerErrors)],
        exception_handlers={
            ScimError: scim_error,
            LicensingError: licensing_error,
            HTTPException: http_error,
        },
        lifespan=lifespan,
    )
    app.state.db = database
    app.state.clock = clock
    app.state.settings = settings
    return app
