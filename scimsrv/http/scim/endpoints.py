"""The endpoints Users and Groups share in shape: create, replace, delete.

Each is made for one resource type from its model, its endpoint name and
the session-level function that does the work (the same one ``/Bulk`` runs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from scim2_models import Context
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.bodies import read_json
from scimsrv.http.scim.rendering import resource_response
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.search import response_parameters
from scimsrv.services.resources import write_transaction

Endpoint = Callable[[Request], Awaitable[Response]]


def create_endpoint(
    model: Any, endpoint: str, create: Callable[[Session, str, Any], Any]
) -> Endpoint:
    """POST /<endpoint> (RFC 7644 §3.3): 201 with the resource, its location and ETag."""

    async def handle(request: Request) -> Response:
        params = response_parameters(request, model)
        resource = parse_resource(
            await read_json(request), model, Context.RESOURCE_CREATION_REQUEST
        )
        with write_transaction(request, f"POST /{endpoint}") as session:
            created = create(session, request.state.tenant_id, resource)
        return resource_response(
            request, created, endpoint, params, Context.RESOURCE_CREATION_RESPONSE, status=201
        )

    return handle


def replace_endpoint(
    model: Any, endpoint: str, replace: Callable[[Session, str, str, Any, str | None], Any]
) -> Endpoint:
    """PUT /<endpoint>/{id} (RFC 7644 §3.5.1), honouring If-Match."""

    async def handle(request: Request) -> Response:
        params = response_parameters(request, model)
        wanted = parse_resource(
            await read_json(request), model, Context.RESOURCE_REPLACEMENT_REQUEST
        )
        with write_transaction(request, f"PUT /{endpoint}") as session:
            resource = replace(
                session,
                request.state.tenant_id,
                request.path_params["id"],
                wanted,
                request.headers.get("if-match"),
            )
        return resource_response(
            request, resource, endpoint, params, Context.RESOURCE_REPLACEMENT_RESPONSE
        )

    return handle


def delete_endpoint(
    endpoint: str, delete: Callable[[Session, str, str, str | None], None]
) -> Endpoint:
    """DELETE /<endpoint>/{id} (RFC 7644 §3.6): 204, honouring If-Match."""

    async def handle(request: Request) -> Response:
        with write_transaction(request, f"DELETE /{endpoint}") as session:
            delete(
                session,
                request.state.tenant_id,
                request.path_params["id"],
                request.headers.get("if-match"),
            )
        return Response(status_code=204)

    return handle
