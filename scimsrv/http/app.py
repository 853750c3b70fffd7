"""The ASGI application factory: every route in one place.

Each tenant's SCIM API lives under ``/t/{tenant}/scim/v2`` (docs/architecture.md), the
operators' admin API under ``/admin/v1``. Endpoints read the request on the
event loop and run their use case (:mod:`scimsrv.services`) in a worker
thread, where the caller's token is checked inside the use case's
transaction; nothing waits for the database on the event loop, so
``/healthz`` answers while a request waits for a lock. Exceptions become
responses in :mod:`scimsrv.http.errors` only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from licensing_core.clock import Clock, utcnow
from licensing_core.db import Database
from scimsrv.http.access_log import AccessLog
from scimsrv.http.admin import audit_log, directory, licenses, plans, reports, rules, tenants
from scimsrv.http.admin.bodies import bodiless
from scimsrv.http.admin.openapi import openapi
from scimsrv.http.errors import EXCEPTION_HANDLERS
from scimsrv.http.headers import SecurityHeaders
from scimsrv.http.metrics import metrics
from scimsrv.http.middleware import ScimServerErrors
from scimsrv.http.pages.holders import license_holders_page
from scimsrv.http.pages.license_page import license_page
from scimsrv.http.pages.user_changes import user_changes_page
from scimsrv.http.paths import CanonicalEndpointNames
from scimsrv.http.rate_limit import RateLimit
from scimsrv.http.scim import bulk, discovery
from scimsrv.http.scim.resources import (
    GROUPS,
    USERS,
    create,
    delete,
    get,
    listing,
    patch,
    replace,
    search,
)
from scimsrv.http.scim.search import search_all
from scimsrv.http.urls import PublicRedirects
from scimsrv.metrics.telemetry import Telemetry
from scimsrv.services.transaction import Service
from scimsrv.settings import Settings

TENANT_BASE = "/t/{tenant}/scim/v2"
ADMIN_BASE = "/admin/v1"

log = logging.getLogger("scimsrv")
Endpoint = Callable[[Request], Awaitable[Response]]


async def healthz(_request: Request) -> JSONResponse:
    """Liveness: the process answers (never touches the database)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers a query."""
    db: Database = request.app.state.service.db

    def ping() -> None:
        with db.read() as session:
            session.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # any driver error means "not ready", never a 500
        # The driver message may name hosts and users: log it, answer only its kind.
        log.warning("readiness check failed: %s", exc)
        detail = f"database unreachable ({exc.__class__.__name__})"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ok"})


def route(path: str, **handlers: Endpoint) -> Route:
    """One route per path with one endpoint per method, so a wrong method gets
    a 405 whose ``Allow`` lists every method of the path."""

    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])  # Starlette allows HEAD wherever GET is

    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    return Route(path, endpoint, methods=list(handlers))


def admin_route(path: str, *, body: str = "", **handlers: Endpoint) -> Route:
    """An admin :func:`route` whose methods named in ``body`` (``"POST PATCH"``)
    take a JSON body; every other method refuses one (:func:`bodiless`)."""
    takes = body.split()
    return route(path, **{m: h if m in takes else bodiless(h) for m, h in handlers.items()})


def create_app(
    db: Database | None = None, settings: Settings | None = None, clock: Clock = utcnow
) -> Starlette:
    """The app; ``clock`` (naive UTC) stamps every write, so tests can control time."""
    settings = settings or Settings()
    database = db or Database.from_url(settings.database_url, lock_timeout=settings.lock_timeout)
    telemetry = Telemetry()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if db is None:  # only close what this app opened
            database.dispose()

    scim = [
        route("/Users", GET=listing(USERS), POST=create(USERS)),
        route("/Users/.search", POST=search(USERS)),
        route(
            "/Users/{id}",
            GET=get(USERS),
            PUT=replace(USERS),
            PATCH=patch(USERS),
            DELETE=delete(USERS),
        ),
        route("/Groups", GET=listing(GROUPS), POST=create(GROUPS)),
        route("/Groups/.search", POST=search(GROUPS)),
        route(
            "/Groups/{id}",
            GET=get(GROUPS),
            PUT=replace(GROUPS),
            PATCH=patch(GROUPS),
            DELETE=delete(GROUPS),
        ),
        route("/.search", POST=search_all),
        route("/Bulk", POST=bulk.bulk),
        route("/ServiceProviderConfig", GET=discovery.service_provider_config),
        route("/ResourceTypes", GET=discovery.resource_types),
        route("/ResourceTypes/{name}", GET=discovery.resource_type),
        route("/Schemas", GET=discovery.schemas),
        route("/Schemas/{urn}", GET=discovery.schema),
    ]
    admin = [
        admin_route("/tenants", body="POST", GET=tenants.list_tenants, POST=tenants.create_tenant),
        admin_route(
            "/tenants/{tenant}",
            body="PATCH",
            GET=tenants.show_tenant,
            PATCH=tenants.change_tenant,
            DELETE=tenants.delete_tenant,
        ),
        admin_route("/tenants/{tenant}/suspend", POST=tenants.suspend_tenant),
        admin_route("/tenants/{tenant}/resume", POST=tenants.resume_tenant),
        admin_route(
            "/tenants/{tenant}/rules", body="POST", GET=rules.list_rules, POST=rules.add_rule
        ),
        admin_route("/tenants/{tenant}/rules/preview", GET=rules.preview_rules),
        admin_route(
            "/tenants/{tenant}/rules/{rule:int}",
            body="PATCH",
            PATCH=rules.change_rule,
            DELETE=rules.remove_rule,
        ),
        admin_route("/tenants/{tenant}/check", GET=licenses.check),
        admin_route("/tenants/{tenant}/reconcile", POST=licenses.reconcile),
        admin_route(
            "/tenants/{tenant}/license-set",
            body="POST",
            GET=licenses.show_license_set,
            POST=licenses.import_license_set,
        ),
        admin_route("/tenants/{tenant}/reports/usage", GET=reports.usage),
        admin_route("/tenants/{tenant}/license", GET=license_page),
        admin_route("/tenants/{tenant}/users", GET=directory.users),
        admin_route("/tenants/{tenant}/groups", GET=directory.groups),
        admin_route("/tenants/{tenant}/plans", GET=plans.plan_catalog),
        admin_route("/plans", GET=plans.plan_catalog),
        admin_route("/tenants/{tenant}/log", GET=audit_log.show_log),
        admin_route("/tenants/{tenant}/license/holders/{module}", GET=license_holders_page),
        admin_route("/tenants/{tenant}/license/users/{user}", GET=user_changes_page),
        admin_route("/openapi.json", GET=openapi),
    ]
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            route("/metrics", GET=metrics),
            Mount(TENANT_BASE, routes=scim),
            Mount(ADMIN_BASE, routes=admin),
        ],
        # Outermost first: names, the request's log line, headers, redirects at
        # the public URL, the 500 of last resort, then the limit (before any work).
        middleware=[
            Middleware(CanonicalEndpointNames),
            Middleware(AccessLog, telemetry=telemetry),
            Middleware(SecurityHeaders),
            Middleware(PublicRedirects, public_url=settings.public_url),
            Middleware(ScimServerErrors),
            Middleware(
                RateLimit,
                rate=settings.rate_limit,
                burst=settings.rate_burst,
                refused=telemetry.rate_limited,
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service = Service(database, settings, clock, telemetry)
    return app
