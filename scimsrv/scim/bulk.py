"""Bulk (RFC 7644 §3.7): the limits this service advertises and enforces, and
the rules of a BulkRequest that need no I/O: its shape, each operation's
method and path, and ``bulkId`` references."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import require_object
from scimsrv.scim.urns import BULK_REQUEST

MAX_OPERATIONS = 1000
# Also the largest body any endpoint accepts (bulk.maxPayloadSize).
MAX_PAYLOAD_BYTES = 1_048_576

_BULK_ID = re.compile(r"bulkId:([^\"\s/]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")


@dataclass(frozen=True)
class BulkRequest:
    operations: list[dict[str, Any]]
    fail_on_errors: int | None


def parse_bulk(body: Any) -> BulkRequest:
    """A BulkRequest message; 400 ``invalidSyntax`` / 413 ``tooMany`` when it is not one."""
    body = require_object(body, "BulkRequest")
    if BULK_REQUEST not in (body.get("schemas") or []):
        raise ScimError(400, f"schemas must contain {BULK_REQUEST}", "invalidSyntax")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise ScimError(400, "Operations must be a list of objects", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise ScimError(
            413, f"the bulk request exceeds maxOperations ({MAX_OPERATIONS})", "tooMany"
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or fail_on_errors < 1):
        raise ScimError(400, "failOnErrors must be a positive integer", "invalidValue")
    return BulkRequest(operations, fail_on_errors)


def resolve(value: Any, created: dict[str, str]) -> Any:
    """``value`` with each ``bulkId:xyz`` replaced by the id the operation with
    bulkId xyz was given; 409 when no earlier successful POST had it."""
    text = json.dumps(value)

    def substitute(match: re.Match[str]) -> str:
        bulk_id = match.group(1)
        if bulk_id not in created:
            raise ScimError(
                409,
                f"bulkId:{bulk_id} does not name an earlier successful POST in this request",
                "invalidValue",
            )
        return created[bulk_id]

    return json.loads(_BULK_ID.sub(substitute, text))


def target(method: str, path: Any) -> tuple[str, str | None]:
    """The endpoint (``Users``/``Groups``) and resource id an operation names."""
    match = _PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise ScimError(400, f"unsupported bulk path {path!r}", "invalidPath")
    endpoint, resource_id = match.groups()
    if (method == "POST") == (resource_id is not None):
        raise ScimError(
            400, f"{method} {path}: POST names a collection, others a resource", "invalidPath"
        )
    return endpoint, resource_id
