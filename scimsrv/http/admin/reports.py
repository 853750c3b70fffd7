"""``/admin/v1/tenants/{tenant}/reports/usage?period=2026-10[&explain=PLAN][&asOf=ISO]``:
the JSON ``scimsrv report usage --format json`` prints; with ``explain``, the
JSON array ``--explain`` prints. 400 for a bad period, plan or time, 404 for
an unknown tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from licensing_core.usage import explain_target
from scimsrv.http.auth import run
from scimsrv.scim.errors import ScimError
from scimsrv.services import reports


def as_of(text: str | None, now: datetime) -> datetime:
    """An ``asOf`` parameter (ISO 8601; naive means UTC) as naive UTC; ``now`` when absent."""
    if not text:
        return now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScimError(400, f"invalid asOf {text!r}: use an ISO 8601 date or time") from None
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


async def usage(request: Request) -> Response:
    label = request.query_params.get("period")
    name = request.query_params.get("explain")

    def work(tx):
        if not label:
            raise ScimError(400, "the query parameter period is required, e.g. period=2026-10")
        moment = as_of(request.query_params.get("asOf"), tx.at)
        if name is None:
            return reports.report(tx, label, moment).to_json()
        explain_target(name)
        return [
            {
                "associate_id": row.associate_id,
                "name": row.name,
                "scim_id": row.scim_id,
                "from": row.start.isoformat(),
                "to": row.end.isoformat() if row.end is not None else None,
                "detail": row.detail,
            }
            for row in reports.explained(tx, label, name, moment)[1]
        ]

    return JSONResponse(await run(request, work, write=False))
