"""Service discovery endpoints (RFC 7644 §4): the documents of
:mod:`scimsrv.scim.discovery`, located under the tenant's base URL.

RFC 7644 §4 lets a service answer these anonymously; we choose not to: like
everything under a tenant base URL they need the tenant's bearer token, so
an unauthenticated caller cannot even learn that a tenant exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import scim_response
from scimsrv.http.urls import tenant_base_url
from scimsrv.scim import discovery


async def _answer(request: Request, document: Callable[[str], dict[str, Any]]) -> Response:
    base = tenant_base_url(request)
    return scim_response(await run(request, lambda tx: document(base), write=False))


def _listing(document: Callable[[str], dict[str, Any]]):
    async def endpoint(request: Request) -> Response:
        def listed(base: str) -> dict[str, Any]:
            discovery.refuse_filter(request.query_params)
            return document(base)

        return await _answer(request, listed)

    return endpoint


service_provider_config = _listing(discovery.service_provider_config)
resource_types = _listing(discovery.resource_types)
schemas = _listing(discovery.schemas)


async def resource_type(request: Request) -> Response:
    name = request.path_params["name"]
    return await _answer(request, lambda base: discovery.resource_type(base, name))


async def schema(request: Request) -> Response:
    urn = request.path_params["urn"]
    return await _answer(request, lambda base: discovery.schema(base, urn))
