"""The resource routes, relative to a tenant's SCIM base URL (``/t/{tenant}/scim/v2``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from scimsrv.errors import ScimError
from scimsrv.resources import bulk, groups, users

ITEM_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


async def _not_yet(_request: Request) -> None:
    raise ScimError(501, "not implemented yet")


def resource_routes() -> list[BaseRoute]:
    """Users, Groups, ``/.search`` and ``/Bulk``; the app mounts them behind auth."""
    return [
        Route("/Users", users.collection, methods=["GET", "POST"]),
        Route("/Users/.search", users.search_endpoint, methods=["POST"]),
        Route("/Users/{id}", users.item, methods=ITEM_METHODS),
        Route("/Groups", groups.collection, methods=["GET", "POST"]),
        Route("/Groups/.search", groups.search_endpoint, methods=["POST"]),
        Route("/Groups/{id}", groups.item, methods=ITEM_METHODS),
        Route("/.search", _not_yet, methods=["POST"]),
        Route("/Bulk", bulk.bulk_endpoint, methods=["POST"]),
    ]
