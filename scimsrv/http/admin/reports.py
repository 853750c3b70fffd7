"""Admin HTTP routes for reports: the usage report as JSON and the Licenses page.

Paths are relative to the admin base (``/admin/v1``); the admin mount checks
the operator token before these handlers run. ``request.app.state.db`` is the
:class:`~licensing_core.db.Database`; ``request.app.state.clock`` (if set)
gives "now" as naive UTC.

* ``GET /tenants/{tenant}/reports/usage?period=2026-10[&explain=PLAN][&asOf=ISO]``:
  the JSON ``scimsrv report usage --format json`` prints; with ``explain``, the
  JSON array ``--explain`` prints, streamed.
* ``GET /tenants/{tenant}/license``: the Licenses page (HTML).

Errors are JSON ``{"status": ..., "detail": ...}``: 400 for a bad period,
plan or time, 404 for an unknown tenant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from licensing_core.db import Database
from licensing_core.errors import InvalidCombination, UnknownTenant
from licensing_core.periods import InvalidPeriod
from licensing_core.usage import explain, explain_target, tenant_period, usage_report
from scimsrv.http.pages.license_page import license_page_html
from scimsrv.scim.errors import ScimError, error_response


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC).replace(tzinfo=None)


def _as_of(request: Request) -> datetime:
    text = request.query_params.get("asOf")
    if not text:
        return _now(request)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScimError(400, f"invalid asOf {text!r}: use an ISO 8601 date or time") from None
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _refusal(exc: Exception) -> Response:
    if isinstance(exc, ScimError):
        return error_response(exc)
    if isinstance(exc, UnknownTenant):
        return error_response(ScimError(404, str(exc)))
    return error_response(ScimError(400, str(exc)))


REFUSED = (ScimError, UnknownTenant, InvalidPeriod, InvalidCombination)


async def usage(request: Request) -> Response:
    db: Database = request.app.state.db
    tenant_id = request.path_params["tenant"]
    label = request.query_params.get("period")
    name = request.query_params.get("explain")
    try:
        if not label:
            raise ScimError(400, "the query parameter period is required, e.g. period=2026-10")
        as_of = _as_of(request)
        if name is not None:
            explain_target(name)
            period = await run_in_threadpool(_period, db, tenant_id, label)
            return StreamingResponse(
                _explain_json(db, tenant_id, period, name, as_of), media_type="application/json"
            )
        body = await run_in_threadpool(_report, db, tenant_id, label, as_of)
    except REFUSED as exc:
        return _refusal(exc)
    return JSONResponse(body)


def _period(db: Database, tenant_id: str, label: str):
    with db.read() as session:
        return tenant_period(session, tenant_id, label)


def _report(db: Database, tenant_id: str, label: str, as_of: datetime) -> dict:
    with db.read() as session:
        return usage_report(session, tenant_id, label, as_of=as_of).to_json()


def _explain_json(
    db: Database, tenant_id: str, period, name: str, as_of: datetime
) -> Iterator[str]:
    # A sync generator: Starlette runs it in a thread, a chunk of rows at a time.
    with db.read() as session:
        yield "["
        chunk: list[str] = []
        for index, row in enumerate(explain(session, tenant_id, period, name, as_of=as_of)):
            item = {
                "associate_id": row.associate_id,
                "name": row.name,
                "from": row.start.isoformat(),
                "to": row.end.isoformat() if row.end is not None else None,
                "detail": row.detail,
            }
            chunk.append(("\n  " if index == 0 else ",\n  ") + json.dumps(item))
            if len(chunk) >= 500:
                yield "".join(chunk)
                chunk.clear()
        yield "".join(chunk) + "\n]\n"


async def license_page(request: Request) -> Response:
    db: Database = request.app.state.db
    tenant_id = request.path_params["tenant"]
    try:
        html = await run_in_threadpool(_page, db, tenant_id, _now(request))
    except REFUSED as exc:
        return _refusal(exc)
    return HTMLResponse(html)


def _page(db: Database, tenant_id: str, at: datetime) -> str:
    with db.read() as session:
        return license_page_html(session, tenant_id, at)


def report_routes() -> list[BaseRoute]:
    """Routes relative to ``/admin/v1``, for the admin mount (behind operator auth)."""
    return [
        Route("/tenants/{tenant}/reports/usage", usage, methods=["GET"]),
        Route("/tenants/{tenant}/license", license_page, methods=["GET"]),
    ]
