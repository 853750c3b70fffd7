"""The resource routes, relative to a tenant's SCIM base URL (``/t/{tenant}/scim/v2``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from scimsrv.errors import ScimError


async def _not_yet(_request: Request) -> None:
    raise ScimError(501, "not implemented yet")


def resource_routes() -> list[BaseRoute]:
    """Users, Groups, ``/.search`` and ``/Bulk``; the app mounts them behind auth."""
    return [
        Route("/Users", _not_yet, methods=["GET", "POST"]),
        Route("/Users/.search", _not_yet, methods=["POST"]),
        Route("/Users/{id}", _not_yet, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/Groups", _not_yet, methods=["GET", "POST"]),
        Route("/Groups/.search", _not_yet, methods=["POST"]),
        Route("/Groups/{id}", _not_yet, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/.search", _not_yet, methods=["POST"]),
        Route("/Bulk", _not_yet, methods=["POST"]),
    ]
