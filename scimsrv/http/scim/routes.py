"""The resource routes, relative to a tenant's SCIM base URL (``/t/{tenant}/scim/v2``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimsrv.http.scim import bulk, groups, users
from scimsrv.http.scim.search import root_search

Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(handlers: dict[str, Endpoint]) -> Endpoint:
    """One endpoint per method on one path, so a wrong method gets a 405 listing all."""

    async def endpoint(request: Request) -> Response:
        return await handlers[request.method](request)

    return endpoint


def _routes(path: str, module) -> list[BaseRoute]:
    item = {
        "GET": module.get_endpoint,
        "HEAD": module.get_endpoint,
        "PUT": module.replace_endpoint,
        "PATCH": module.patch_endpoint,
        "DELETE": module.delete_endpoint,
    }
    collection = {"GET": module.list_endpoint, "POST": module.create_endpoint}
    return [
        Route(path, by_method(collection), methods=list(collection)),
        Route(f"{path}/.search", module.search_endpoint, methods=["POST"]),
        Route(f"{path}/{{id}}", by_method(item), methods=list(item)),
    ]


def resource_routes() -> list[BaseRoute]:
    """Users, Groups, root ``/.search`` and ``/Bulk``; the app mounts them behind auth."""
    return [
        *_routes("/Users", users),
        *_routes("/Groups", groups),
        Route("/.search", root_search, methods=["POST"]),
        Route("/Bulk", bulk.bulk_endpoint, methods=["POST"]),
    ]
