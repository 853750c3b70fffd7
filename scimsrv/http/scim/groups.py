"""The /Groups endpoints (RFC 7644 §3.3-§3.6): each request is one use case of
:mod:`scimsrv.services.groups`, run in a worker thread in one transaction.

A request that leaves ``members`` out of its response
(``excludedAttributes=members``, as Entra ID asks) never reads them; a
PATCH answers 204 with the new ETag unless the client asks for attributes
(Entra ID: returning every member is not advisable).
"""

from __future__ import annotations

from scim2_models import Context
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.scim.rendering import not_modified, resource_response
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.rendering import selects
from scimsrv.scim.schemas import GroupResource
from scimsrv.scim.search import excludes, response_parameters
from scimsrv.services import groups

ENDPOINT = "Groups"
MODEL = GroupResource


async def create_group(request: Request) -> Response:
    raw = await read_body(request)

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        resource = parse_resource(parse_json(raw), MODEL, Context.RESOURCE_CREATION_REQUEST)
        return params, groups.create_group(tx, resource)

    params, view = await run(request, work, write=True)
    return resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_CREATION_RESPONSE, status=201
    )


async def get_group(request: Request) -> Response:
    group_id = request.path_params["id"]

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        return params, groups.get_group(tx, group_id, members=not excludes(params, "members"))

    params, view = await run(request, work, write=False)
    return not_modified(request, view.version) or resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_QUERY_RESPONSE
    )


async def replace_group(request: Request) -> Response:
    raw = await read_body(request)
    group_id, if_match = request.path_params["id"], request.headers.get("if-match")

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        wanted = parse_resource(parse_json(raw), MODEL, Context.RESOURCE_REPLACEMENT_REQUEST)
        return params, groups.replace_group(tx, group_id, wanted, if_match)

    params, view = await run(request, work, write=True)
    return resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_REPLACEMENT_RESPONSE
    )


async def patch_group(request: Request) -> Response:
    raw = await read_body(request)
    group_id, if_match = request.path_params["id"], request.headers.get("if-match")

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        patch = parse_patch(parse_json(raw), MODEL)
        members = selects(params) and not excludes(params, "members")
        return params, groups.patch_group(tx, group_id, patch, if_match, members=members)

    params, view = await run(request, work, write=True)
    if selects(params):
        return resource_response(
            request, view, ENDPOINT, MODEL, params, Context.RESOURCE_PATCH_RESPONSE
        )
    return Response(status_code=204, headers={"ETag": view.version})


async def delete_group(request: Request) -> Response:
    group_id, if_match = request.path_params["id"], request.headers.get("if-match")
    await run(request, lambda tx: groups.delete_group(tx, group_id, if_match), write=True)
    return Response(status_code=204)
