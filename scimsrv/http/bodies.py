"""Small HTTP helpers shared by every SCIM endpoint: JSON in, SCIM JSON out."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scimsrv.scim.errors import SCIM_CONTENT_TYPE, ScimError

# Advertised in /ServiceProviderConfig (bulk.maxPayloadSize) and enforced here.
MAX_PAYLOAD_BYTES = 1_048_576


def scim_response(
    body: Any | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with ``application/scim+json`` (RFC 7644 §3.1); ``None`` -> empty body."""
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=SCIM_CONTENT_TYPE, headers=headers)


async def read_json(request: Request, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """The request body parsed as JSON; 413 when too large, 400 when malformed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ScimError(413, f"request body larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ScimError(413, f"request body larger than {max_bytes} bytes")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScimError(400, f"malformed JSON body: {exc}", "invalidSyntax") from exc


def tenant_base_url(request: Request) -> str:
    """The tenant's SCIM base URL as the client reached it: ``.../t/{tenant}/scim/v2``."""
    tenant = request.path_params["tenant"]
    return f"{str(request.base_url).rstrip('/')}/t/{tenant}/scim/v2"
