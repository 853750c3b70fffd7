"""The /Users and /Groups endpoints (RFC 7644 §3.3-§3.6, §3.4.2-§3.4.3): each
request is one use case of :mod:`scimsrv.services`, run in a worker thread in
one transaction, and both resource types answer by the same rules.

A request that leaves a derived attribute out of its response (a user's
``groups``, a group's ``members``: ``excludedAttributes=members``, as Entra
ID asks) never reads it. A group PATCH answers 204 with the new ETag unless
the client asks for attributes (Entra ID: returning every member is not
advisable).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import Context, SearchRequest
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.scim.rendering import not_modified, page_response, resource_response
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.rendering import selects
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.scim.search import (
    excludes,
    page_size,
    reject_unsupported,
    response_parameters,
    search_from_body,
    search_from_query,
)
from scimsrv.services import groups, users
from scimsrv.storage.listing import ListRequest

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Kind:
    """One resource type: its endpoint, model, derived attribute and use cases.

    Each use case takes, last, whether the derived attribute is read.
    """

    endpoint: str
    model: type
    derived: str
    create: Callable[..., Any]
    get: Callable[..., Any]
    page: Callable[..., Any]
    replace: Callable[..., Any]
    patch: Callable[..., Any]
    delete: Callable[..., Any]
    # A PATCH answers 204 unless the client asks for attributes.
    patch_without_body: bool = False


USERS = Kind(
    "Users",
    UserResource,
    "groups",
    create=users.create_user,
    get=lambda tx, user_id, derived: users.get_user(tx, user_id, groups=derived),
    page=lambda tx, request, derived: users.list_users(tx, request, groups=derived),
    replace=users.replace_user,
    patch=lambda tx, user_id, patch, if_match, _derived: users.patch_user(
        tx, user_id, patch, if_match
    ),
    delete=users.delete_user,
)
GROUPS = Kind(
    "Groups",
    GroupResource,
    "members",
    create=groups.create_group,
    get=lambda tx, group_id, derived: groups.get_group(tx, group_id, members=derived),
    page=lambda tx, request, derived: groups.list_groups(tx, request, members=derived),
    replace=groups.replace_group,
    patch=lambda tx, group_id, patch, if_match, derived: groups.patch_group(
        tx, group_id, patch, if_match, members=derived
    ),
    delete=groups.delete_group,
    patch_without_body=True,
)


def _params(request: Request, kind: Kind) -> SearchRequest:
    return response_parameters(request.query_params, kind.model)


def create(kind: Kind) -> Endpoint:
    """POST /<endpoint> (RFC 7644 §3.3): 201 with the resource, its location and ETag."""

    async def endpoint(request: Request) -> Response:
        raw = await read_body(request)

        def work(tx):
            params = _params(request, kind)
            resource = parse_resource(
                parse_json(raw), kind.model, Context.RESOURCE_CREATION_REQUEST
            )
            return params, kind.create(tx, resource)

        params, view = await run(request, work, write=True)
        return resource_response(
            request,
            view,
            kind.endpoint,
            kind.model,
            params,
            Context.RESOURCE_CREATION_RESPONSE,
            status=201,
        )

    return endpoint


def get(kind: Kind) -> Endpoint:
    """GET /<endpoint>/{id} (RFC 7644 §3.4.1); 304 for a current If-None-Match."""

    async def endpoint(request: Request) -> Response:
        resource_id = request.path_params["id"]

        def work(tx):
            params = _params(request, kind)
            return params, kind.get(tx, resource_id, not excludes(params, kind.derived))

        params, view = await run(request, work, write=False)
        return not_modified(request, view.version) or resource_response(
            request, view, kind.endpoint, kind.model, params, Context.RESOURCE_QUERY_RESPONSE
        )

    return endpoint


def replace(kind: Kind) -> Endpoint:
    """PUT /<endpoint>/{id} (RFC 7644 §3.5.1), honouring If-Match."""

    async def endpoint(request: Request) -> Response:
        raw = await read_body(request)
        resource_id, if_match = request.path_params["id"], request.headers.get("if-match")

        def work(tx):
            params = _params(request, kind)
            wanted = parse_resource(
                parse_json(raw), kind.model, Context.RESOURCE_REPLACEMENT_REQUEST
            )
            return params, kind.replace(tx, resource_id, wanted, if_match)

        params, view = await run(request, work, write=True)
        return resource_response(
            request,
            view,
            kind.endpoint,
            kind.model,
            params,
            Context.RESOURCE_REPLACEMENT_RESPONSE,
        )

    return endpoint


def patch(kind: Kind) -> Endpoint:
    """PATCH /<endpoint>/{id} (RFC 7644 §3.5.2), honouring If-Match."""

    async def endpoint(request: Request) -> Response:
        raw = await read_body(request)
        resource_id, if_match = request.path_params["id"], request.headers.get("if-match")

        def work(tx):
            params = _params(request, kind)
            operations = parse_patch(parse_json(raw), kind.model)
            derived = not excludes(params, kind.derived)
            if kind.patch_without_body:
                derived = derived and selects(params)
            return params, kind.patch(tx, resource_id, operations, if_match, derived)

        params, view = await run(request, work, write=True)
        if kind.patch_without_body and not selects(params):
            return Response(status_code=204, headers={"ETag": view.version})
        return resource_response(
            request, view, kind.endpoint, kind.model, params, Context.RESOURCE_PATCH_RESPONSE
        )

    return endpoint


def delete(kind: Kind) -> Endpoint:
    """DELETE /<endpoint>/{id} (RFC 7644 §3.6): 204, honouring If-Match."""

    async def endpoint(request: Request) -> Response:
        resource_id, if_match = request.path_params["id"], request.headers.get("if-match")
        await run(request, lambda tx: kind.delete(tx, resource_id, if_match), write=True)
        return Response(status_code=204)

    return endpoint


def query(tx, kind: Kind, search: SearchRequest, count: int):
    """One page of ``kind`` for ``search``, ``count`` rows at most."""
    return kind.page(tx, ListRequest.of(search, count), not excludes(search, kind.derived))


async def _listing(request: Request, kind: Kind, read: Callable[[], SearchRequest]) -> Response:
    def work(tx):
        search = read()
        reject_unsupported(search)
        return search, query(tx, kind, search, page_size(search))

    search, page = await run(request, work, write=False)
    start = None if search.cursor is not None else (search.start_index or 1)
    return page_response(
        request,
        [(page, kind.endpoint, kind.model)],
        page.total_results,
        start,
        search,
        page.next_cursor,
    )


def listing(kind: Kind) -> Endpoint:
    """GET /<endpoint> (RFC 7644 §3.4.2): no match is a 200 with an empty list, never 404."""

    async def endpoint(request: Request) -> Response:
        return await _listing(
            request, kind, lambda: search_from_query(request.query_params, kind.model)
        )

    return endpoint


def search(kind: Kind) -> Endpoint:
    """POST /<endpoint>/.search (RFC 7644 §3.4.3)."""

    async def endpoint(request: Request) -> Response:
        raw = await read_body(request)
        return await _listing(request, kind, lambda: search_from_body(parse_json(raw), kind.model))

    return endpoint
