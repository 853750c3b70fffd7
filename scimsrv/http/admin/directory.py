"""``/admin/v1/tenants/{tenant}/users`` and ``/groups``: who holds which plans,
who is waiting and why, and which plans each group grants (JSON as
``scimsrv users`` and ``scimsrv groups`` print with ``--format json``).

``users`` takes ``state`` (licensed, pending, none) and ``plan`` (a plan or
combination); both take the paging of :mod:`scimsrv.http.admin.paging`.
400 for a bad value, 404 for an unknown tenant.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scimsrv.http.admin.paging import page_body, paging
from scimsrv.http.auth import run
from scimsrv.services.group_plans import list_group_plans
from scimsrv.services.user_plans import list_user_plans


async def users(request: Request) -> Response:
    query = request.query_params

    def work(tx):
        return list_user_plans(tx, paging(query), state=query.get("state"), plan=query.get("plan"))

    return JSONResponse(page_body(await run(request, work, write=False), "users"))


async def groups(request: Request) -> Response:
    query = request.query_params
    page = await run(request, lambda tx: list_group_plans(tx, paging(query)), write=False)
    return JSONResponse(page_body(page, "groups"))
