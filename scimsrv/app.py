"""The ASGI application factory: every route in one place."""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from licensing_core.db import Database
from scimsrv.settings import Settings


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
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(db: Database | None = None, settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ]
    )
    app.state.db = db or Database.from_url(settings.database_url)
    app.state.settings = settings
    return app
