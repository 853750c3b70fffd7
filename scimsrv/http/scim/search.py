"""List, ``.search`` and root ``/.search`` answers (RFC 7644 §3.4.2, §3.4.3).

One function renders a page of one resource type; the root search runs the
same query over Users, then Groups, and pages over the two as one list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim2_models import Context, SearchRequest
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.bodies import read_json, scim_response
from scimsrv.http.scim.rendering import resource_body
from scimsrv.scim.errors import ScimError
from scimsrv.scim.search import (
    excludes,
    list_response,
    page_size,
    reject_unsupported,
    search_from_body,
)
from scimsrv.services.resources import GroupStore, Page, UserStore

# A resource type's query: (session, tenant, search, count) -> Page.
Query = Callable[[Session, str, SearchRequest, int], Page]


def query_users(session: Session, tenant_id: str, search: SearchRequest, count: int) -> Page:
    return UserStore(session, tenant_id).query(search, count)


def query_groups(session: Session, tenant_id: str, search: SearchRequest, count: int) -> Page:
    # excludedAttributes=members reads no member row at all.
    members = not excludes(search, "members")
    return GroupStore(session, tenant_id).query(search, count, members=members)


def list_answer(request: Request, search: SearchRequest, query: Query, endpoint: str) -> Response:
    """A ListResponse of one resource type (GET list or POST ``/<type>/.search``)."""
    reject_unsupported(search)
    with request.app.state.db.read() as session:
        page = query(session, request.state.tenant_id, search, page_size(search))
        resources = [
            resource_body(request, resource, endpoint, search, Context.SEARCH_RESPONSE)
            for resource in page.resources
        ]
    start = None if search.cursor is not None else (search.start_index or 1)
    return scim_response(list_response(resources, page.total, start, page.next_cursor))


ROOT_TYPES: tuple[tuple[Query, str], ...] = ((query_users, "Users"), (query_groups, "Groups"))


async def root_search(request: Request) -> Response:
    """``POST /.search``: every resource type, Users first, paged as one list.

    A filter naming an attribute one type does not have matches nothing of
    that type; it is an error only when no type knows it. Cursors are not
    offered across types (400 ``invalidValue``).
    """
    search = search_from_body(await read_json(request), None)
    if search.cursor is not None:
        raise ScimError(400, "cursor pagination is offered per resource type", "invalidValue")
    offset, count = (search.start_index or 1) - 1, page_size(search)
    resources: list[dict[str, Any]] = []
    total, errors = 0, []
    with request.app.state.db.read() as session:
        for query, endpoint in ROOT_TYPES:
            try:
                found = query(session, request.state.tenant_id, search, 0).total
            except ScimError as error:
                errors.append(error)
                continue
            total += found
            if offset >= found:
                offset -= found
                continue
            if len(resources) < count:
                window = search.model_copy(
                    update={"start_index": offset + 1, "count": count - len(resources)}
                )
                page = query(session, request.state.tenant_id, window, count - len(resources))
                resources += [
                    resource_body(request, resource, endpoint, search, Context.SEARCH_RESPONSE)
                    for resource in page.resources
                ]
            offset = 0
    if len(errors) == len(ROOT_TYPES):
        raise errors[0]
    return scim_response(list_response(resources, total, search.start_index or 1))
