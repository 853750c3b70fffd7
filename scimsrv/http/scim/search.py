"""Root ``POST /.search`` (RFC 7644 §3.4.3): the same query over Users, then
Groups, paged as one list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.http.scim.rendering import page_response
from scimsrv.http.scim.resources import GROUPS, USERS, query
from scimsrv.scim.errors import ScimError
from scimsrv.scim.search import page_size, search_from_body

ROOT_KINDS = (USERS, GROUPS)


async def search_all(request: Request) -> Response:
    """Every resource type, Users first, paged as one list.

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
                found = query(tx, kind, search, 0).total_results
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
                parts.append((query(tx, kind, window, wanted), kind.endpoint, kind.model))
            offset = 0
        if len(errors) == len(ROOT_KINDS):
            raise errors[0]
        return search, parts, total

    search, parts, total = await run(request, work, write=False)
    return page_response(request, parts, total, search.start_index or 1, search)
