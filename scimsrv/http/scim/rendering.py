"""Single resources out: location, ETag (RFC 7644 §3.14) and attribute selection (§3.9)."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, SearchRequest
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.bodies import scim_response, tenant_base_url
from scimsrv.scim.errors import ScimError
from scimsrv.scim.search import dump


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(header: str, version: str | None) -> bool:
    """Weak comparison of an If-Match / If-None-Match list against ``version``."""
    if version is None:
        return False
    tags = [part.strip() for part in header.split(",") if part.strip()]
    return "*" in tags or any(_opaque(tag) == _opaque(version) for tag in tags)


def check_if_match(if_match: str | None, resource: Any) -> None:
    """412 when the client's copy is stale (RFC 7644 §3.14, RFC 7232 §3.1)."""
    if if_match is None:
        return
    version = resource.meta.version if resource.meta else None
    if not etag_matches(if_match, version):
        raise ScimError(
            412,
            f"If-Match {if_match} does not match the current version {version}: "
            "the resource changed since it was read",
        )


def locate(request: Request, resource: Any, endpoint: str) -> Any:
    """Set ``meta.location`` (the absolute URL of the resource under the tenant)
    and each member's ``$ref``."""
    base = tenant_base_url(request)
    if resource.meta is not None:
        resource.meta.location = f"{base}/{endpoint}/{resource.id}"
    # Group members are always users (nested groups are refused): point at them.
    for member in getattr(resource, "members", None) or ():
        member.ref = f"{base}/Users/{member.value}"
    return resource


def resource_body(
    request: Request, resource: Any, endpoint: str, search: SearchRequest | None, context: Context
) -> dict[str, Any]:
    return dump(locate(request, resource, endpoint), search, context)


def resource_response(
    request: Request,
    resource: Any,
    endpoint: str,
    search: SearchRequest | None,
    context: Context,
    status: int = 200,
) -> Response:
    body = resource_body(request, resource, endpoint, search, context)
    headers = {}
    version = resource.meta.version if resource.meta else None
    if version:
        headers["ETag"] = version
    if status == 201:
        headers["Location"] = body.get("meta", {}).get("location", "")
    return scim_response(body, status=status, headers=headers)


def not_modified(request: Request, resource: Any) -> Response | None:
    """304 when If-None-Match names the current version (RFC 7232 §3.2)."""
    header = request.headers.get("if-none-match")
    version = resource.meta.version if resource.meta else None
    if header is not None and etag_matches(header, version):
        return Response(status_code=304, headers={"ETag": version or ""})
    return None
