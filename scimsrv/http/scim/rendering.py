"""Single resources and pages out: location, ETag (RFC 7644 §3.14), attribute
selection (§3.9), 304 for a current If-None-Match, ListResponses (§3.4.2)."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, SearchRequest
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.bodies import scim_response
from scimsrv.http.urls import tenant_base_url
from scimsrv.scim.etags import etag_matches
from scimsrv.scim.rendering import render
from scimsrv.scim.search import list_response


def located(base: str, view: Any, endpoint: str) -> dict[str, Any]:
    """The view's body with ``meta.location`` and each member's ``$ref`` absolute."""
    body = view.body()
    body["meta"]["location"] = f"{base}/{endpoint}/{view.id}"
    # Group members are always users (nested groups are refused): point at them.
    for member in body.get("members") or ():
        member["$ref"] = f"{base}/Users/{member['value']}"
    return body


def resource_body(
    base: str, view: Any, endpoint: str, model: type, search: SearchRequest | None, context
) -> dict[str, Any]:
    return render(model, located(base, view, endpoint), search, context)


def resource_response(
    request: Request,
    view: Any,
    endpoint: str,
    model: type,
    search: SearchRequest | None,
    context: Context,
    status: int = 200,
) -> Response:
    base = tenant_base_url(request)
    body = resource_body(base, view, endpoint, model, search, context)
    headers = {"ETag": view.version}
    if status == 201:
        headers["Location"] = f"{base}/{endpoint}/{view.id}"
    return scim_response(body, status=status, headers=headers)


def not_modified(request: Request, version: str) -> Response | None:
    """304 when If-None-Match names the current version (RFC 7232 §3.2)."""
    header = request.headers.get("if-none-match")
    if header is not None and etag_matches(header, version):
        return Response(status_code=304, headers={"ETag": version})
    return None


def page_response(
    request: Request,
    pages: list[tuple[Any, str, type]],
    total: int,
    start_index: int | None,
    search: SearchRequest,
    next_cursor: str | None = None,
) -> Response:
    """A ListResponse of (page, endpoint, model) parts, in order."""
    base = tenant_base_url(request)
    resources = [
        resource_body(base, view, endpoint, model, search, Context.SEARCH_RESPONSE)
        for page, endpoint, model in pages
        for view in page.rows
    ]
    return scim_response(list_response(resources, total, start_index, next_cursor))
