"""``GET /admin/v1/tenants/{tenant}/log``: a tenant's provisioning and audit log,
newest first (docs/audit-log.md).

Filters: ``user`` (SCIM id or userName), ``since`` and ``until`` (ISO 8601,
UTC unless the value says otherwise, or an age such as ``7d``). Paging:
``count`` (1-1000, default 100) and either ``cursor`` (the ``nextCursor`` of
the page before) or ``startIndex`` (1-based). A bad value is a 400 in the
SCIM error shape.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scimsrv.http.auth import run
from scimsrv.scim.errors import ScimError
from scimsrv.services import audit


def _number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise ScimError(400, f"{name} must be a positive integer", "invalidValue")
    return int(raw)


async def show_log(request: Request) -> Response:
    def work(tx):
        params = request.query_params
        count = _number(request, "count")
        wanted = audit.LogRequest(
            user=params.get("user"),
            since=params.get("since"),
            until=params.get("until"),
            cursor=params.get("cursor"),
            start_index=_number(request, "startIndex"),
            count=audit.DEFAULT_COUNT if count is None else count,
        )
        return audit.log_page(tx, wanted)

    return JSONResponse((await run(request, work, write=False)).as_json())
