"""The /Users endpoints (RFC 7644 §3.3-§3.6): each request is one use case of
:mod:`scimsrv.services.users`, run in a worker thread in one transaction."""

from __future__ import annotations

from scim2_models import Context
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.scim.rendering import not_modified, resource_response
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.schemas import UserResource
from scimsrv.scim.search import excludes, response_parameters
from scimsrv.services import users

ENDPOINT = "Users"
MODEL = UserResource


async def create_user(request: Request) -> Response:
    raw = await read_body(request)

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        resource = parse_resource(parse_json(raw), MODEL, Context.RESOURCE_CREATION_REQUEST)
        return params, users.create_user(tx, resource)

    params, view = await run(request, work, write=True)
    return resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_CREATION_RESPONSE, status=201
    )


async def get_user(request: Request) -> Response:
    user_id = request.path_params["id"]

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        return params, users.get_user(tx, user_id, groups=not excludes(params, "groups"))

    params, view = await run(request, work, write=False)
    return not_modified(request, view.version) or resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_QUERY_RESPONSE
    )


async def replace_user(request: Request) -> Response:
    raw = await read_body(request)
    user_id, if_match = request.path_params["id"], request.headers.get("if-match")

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        wanted = parse_resource(parse_json(raw), MODEL, Context.RESOURCE_REPLACEMENT_REQUEST)
        return params, users.replace_user(tx, user_id, wanted, if_match)

    params, view = await run(request, work, write=True)
    return resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_REPLACEMENT_RESPONSE
    )


async def patch_user(request: Request) -> Response:
    raw = await read_body(request)
    user_id, if_match = request.path_params["id"], request.headers.get("if-match")

    def work(tx):
        params = response_parameters(request.query_params, MODEL)
        patch = parse_patch(parse_json(raw), MODEL)
        return params, users.patch_user(tx, user_id, patch, if_match)

    params, view = await run(request, work, write=True)
    return resource_response(
        request, view, ENDPOINT, MODEL, params, Context.RESOURCE_PATCH_RESPONSE
    )


async def delete_user(request: Request) -> Response:
    user_id, if_match = request.path_params["id"], request.headers.get("if-match")
    await run(request, lambda tx: users.delete_user(tx, user_id, if_match), write=True)
    return Response(status_code=204)
