"""Paging of the admin API's listings, read as the SCIM API reads it:
``startIndex`` and ``count`` (RFC 7644 §3.4.2.4; 100 by default, 1,000 at
most) or ``cursor`` (RFC 9865: empty for the first page, then the answer's
``nextCursor``); and a page as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scimsrv.scim.search import page_size, reject_unsupported, search_from_query
from scimsrv.storage.listing import ListRequest, Page

_PARAMETERS = ("startindex", "count", "cursor")


def paging(query: Mapping[str, str]) -> ListRequest:
    """The page a request's ``startIndex``, ``count`` and ``cursor`` ask for.

    :raises ScimError: 400 for a value that is not a number, or for both
        ``startIndex`` and ``cursor``.
    """
    asked = {key: value for key, value in query.items() if key.lower() in _PARAMETERS}
    search = search_from_query(asked, None)
    reject_unsupported(search)
    return ListRequest(
        start_index=search.start_index, count=page_size(search), cursor=search.cursor
    )


def page_body(page: Page, key: str) -> dict[str, Any]:
    """``totalResults``, ``itemsPerPage``, ``startIndex`` (index paging),
    ``nextCursor`` (cursor paging, while more follow) and the rows under ``key``."""
    body: dict[str, Any] = {"totalResults": page.total_results, "itemsPerPage": page.items_per_page}
    if page.next_cursor is None:
        body["startIndex"] = page.start_index
    else:
        body["nextCursor"] = page.next_cursor
    body[key] = [row.to_json() for row in page.rows]
    return body
