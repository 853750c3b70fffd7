"""List, ``.search`` and root ``/.search`` answers (RFC 7644 §3.4.2, §3.4.3, RFC 9865).

A ``GET /Users?...`` and a ``POST /Users/.search`` are read into the same
scim2-models :class:`SearchRequest`, so both honour the same rules. The root
search runs the same query over Users, then Groups, and pages over the two
as one list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import SearchRequest
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.scim.rendering import page_response
from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.scim.search import (
    excludes,
    page_size,
    reject_unsupported,
    search_from_body,
    search_from_query,
)
from scimsrv.services import groups, users
from scimsrv.storage.listing import ListRequest


@dataclass(frozen=True)
class Kind:
    """One resource type as lists see it: its endpoint, model and page query."""

    endpoint: str
    model: type
    query: Callable[[Any, ListRequest, SearchRequest], Any]


USERS = Kind(
    "Users",
    UserResource,
    lambda tx, request, search: users.list_users(
        tx, request, groups=not excludes(search, "groups")
    ),
)
GROUPS = Kind(
    "Groups",
    GroupResource,
    lambda tx, request, search: groups.list_groups(
        tx, request, members=not excludes(search, "members")
    ),
)


async def _answer(request: Request, kind: Kind, read: Callable[[], SearchRequest]) -> Response:
    def work(tx):
        search = read()
        reject_unsupported(search)
        return search, kind.query(tx, ListRequest.of(search, page_size(search)), search)

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


async def list_users(request: Request) -> Response:
    """RFC 7644 §3.4.2: no match is a 200 with an empty list, never a 404."""
    return await _answer(
        request, USERS, lambda: search_from_query(request.query_params, UserResource)
    )


async def search_users(request: Request) -> Response:
    """RFC 7644 §3.4.3: POST /Users/.search."""
    raw = await read_body(request)
    return await _answer(request, USERS, lambda: search_from_body(parse_json(raw), UserResource))


async def list_groups(request: Request) -> Response:
    return await _answer(
        request, GROUPS, lambda: search_from_query(request.query_params, GroupResource)
    )


async def search_groups(request: Request) -> Response:
    raw = await read_body(request)
    return await _answer(request, GROUPS, lambda: search_from_body(parse_json(raw), GroupResource))


ROOT_KINDS = (USERS, GROUPS)


async def search_all(request: Request) -> Response:
    """``POST /.search``: every resource type, Users first, paged as one list.

    A filter naming an attribute one type does not have matches nothing of
    that type; it is an error only when no type knows it. Cursors are not
    offered across types (400 ``invalidValue``).
    """
    raw = await read_body(request)

    def work(tx):
        search = search_from_body(parse_json(raw), None)
        if search.cursor is not None:
            raise ScimError(400, "cursor pagination is offered per resource type", "invalidValue")
        offset, count = (search.start_index or 1) - 1, page_size(search)
        parts, total, errors = [], 0, []
        for kind in ROOT_KINDS:
            try:
                found = kind.query(tx, ListRequest.of(search, 0), search).total_results
            except ScimError as error:
                errors.append(error)
                continue
            total += found
            if offset >= found:
                offset -= found
                continue
            wanted = count - sum(len(page.rows) for page, _, _ in parts)
            if wanted > 0:
                window = search.model_copy(update={"start_index": offset + 1, "count": wanted})
                page = kind.query(tx, ListRequest.of(window, wanted), search)
                parts.append((page, kind.endpoint, kind.model))
            offset = 0
        if len(errors) == len(ROOT_KINDS):
            raise errors[0]
        return search, parts, total

    search, parts, total = await run(request, work, write=False)
    return page_response(request, parts, total, search.start_index or 1, search)
