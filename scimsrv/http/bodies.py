"""Request bodies in, SCIM JSON out (RFC 7644 §3.1, §3.8).

A body is read on the event loop (bounded: 413 past
:data:`~scimsrv.scim.bulk.MAX_PAYLOAD_BYTES`) and parsed in the use case's
worker thread, after the caller's token passed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scimsrv.scim.bulk import MAX_PAYLOAD_BYTES
from scimsrv.scim.errors import ScimError

SCIM_CONTENT_TYPE = "application/scim+json"


def scim_response(
    body: Any | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with ``application/scim+json`` (RFC 7644 §3.1); ``None`` -> empty body."""
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=SCIM_CONTENT_TYPE, headers=headers)


async def read_body(request: Request, max_bytes: int = MAX_PAYLOAD_BYTES) -> bytes:
    """The raw request body; 413 when it is larger than ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ScimError(413, f"request body larger than {max_bytes} bytes", "tooLarge")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ScimError(413, f"request body larger than {max_bytes} bytes", "tooLarge")
    return bytes(body)


def parse_json(raw: bytes) -> Any:
    """The body as JSON; 400 ``invalidSyntax`` when it is not."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScimError(400, f"malformed JSON body: {exc}", "invalidSyntax") from exc


def tenant_base_url(request: Request) -> str:
    """The tenant's SCIM base URL as the client reached it: ``.../t/{tenant}/scim/v2``."""
    tenant = request.path_params["tenant"]
    return f"{str(request.base_url).rstrip('/')}/t/{tenant}/scim/v2"
