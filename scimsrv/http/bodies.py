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
from scimsrv.scim.values import checked_json, json_float, json_integer

SCIM_CONTENT_TYPE = "application/scim+json"


def scim_response(
    body: Any | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with ``application/scim+json`` (RFC 7644 §3.1); ``None`` -> empty body."""
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=SCIM_CONTENT_TYPE, headers=headers)


JSON_MEDIA_TYPES = frozenset({SCIM_CONTENT_TYPE, "application/json"})


async def read_body(request: Request, max_bytes: int = MAX_PAYLOAD_BYTES) -> bytes:
    """The raw request body; 413 when it is larger than ``max_bytes``, 415 when
    it declares a type other than SCIM JSON or JSON (RFC 7644 §3.8)."""
    declared_type = request.headers.get("content-type")
    if declared_type is not None:
        media_type = declared_type.split(";", 1)[0].strip().lower()
        if media_type and media_type not in JSON_MEDIA_TYPES:
            raise ScimError(
                415, f"the body must be application/scim+json or application/json, not {media_type}"
            )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ScimError(413, f"request body larger than {max_bytes} bytes", "tooLarge")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ScimError(413, f"request body larger than {max_bytes} bytes", "tooLarge")
    return bytes(body)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def parse_json(raw: bytes, *, checked: bool = True) -> Any:
    """The body as JSON, every string and level of it storable
    (:func:`scimsrv.scim.values.checked_json`) unless ``checked`` is False (a
    /Bulk request checks each operation apart); 400 ``invalidSyntax`` when it
    is not JSON, ``invalidValue`` for a number past 64 bits."""
    try:
        document = json.loads(
            raw, parse_constant=_not_json, parse_int=json_integer, parse_float=json_float
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ScimError(400, f"malformed JSON body: {exc}", "invalidSyntax") from exc
    except RecursionError:
        raise ScimError(400, "the JSON nests too deeply", "invalidSyntax") from None
    return checked_json(document) if checked else document
