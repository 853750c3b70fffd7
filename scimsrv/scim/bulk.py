"""Bulk (RFC 7644 §3.7): the limits this service advertises and enforces, and
the rules of a BulkRequest that need no I/O: its shape, unique ``bulkId``
values, each operation's method and path (endpoint names in any case, as
at the top level), and ``bulkId`` references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import require_object
from scimsrv.scim.urns import BULK_REQUEST, endpoint_name
from scimsrv.scim.values import checked_json

MAX_OPERATIONS = 1000
# Also the largest body any endpoint accepts (bulk.maxPayloadSize).
MAX_PAYLOAD_BYTES = 1_048_576

# A reference is a whole value (or a whole path segment) ``bulkId:<id>``.
_REFERENCE = re.compile(r"^bulkId:(.+)$")
_PATH = re.compile(r"^/([^/]+)(?:/([^/]+))?$")
_OPERATION_ENDPOINTS = ("Users", "Groups")


@dataclass(frozen=True)
class BulkRequest:
    operations: list[dict[str, Any]]
    fail_on_errors: int | None


def parse_bulk(body: Any) -> BulkRequest:
    """A BulkRequest message; 400 ``invalidSyntax`` / 413 ``tooMany`` when it is
    not one, 400 ``invalidValue`` when two operations share a ``bulkId`` (it is
    unique within a request, RFC 7644 §3.7)."""
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
    checked_json({k: v for k, v in body.items() if k != "Operations"})
    _refuse_duplicate_bulk_ids(operations)
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or fail_on_errors < 1):
        raise ScimError(400, "failOnErrors must be a positive integer", "invalidValue")
    return BulkRequest(operations, fail_on_errors)


def _refuse_duplicate_bulk_ids(operations: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for operation in operations:
        bulk_id = operation.get("bulkId")
        if not isinstance(bulk_id, str):
            continue
        if bulk_id in seen:
            raise ScimError(
                400,
                f"bulkId {bulk_id!r} is used by more than one operation: a bulkId is "
                "unique within a request",
                "invalidValue",
            )
        seen.add(bulk_id)


def references(value: Any) -> set[str]:
    """The bulkIds ``value`` refers to: strings that are exactly ``bulkId:<id>``
    (RFC 7644 §3.7.2); a string that merely contains one is just text."""
    found: set[str] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            match = _REFERENCE.match(item)
            if match:
                found.add(match.group(1))
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def operation_references(operation: dict[str, Any]) -> set[str]:
    """The bulkIds one operation's path and data refer to."""
    path = operation.get("path")
    segments = path.split("/") if isinstance(path, str) else []
    return references(segments) | references(operation.get("data"))


def resolve(value: Any, created: dict[str, str]) -> Any:
    """``value`` with each reference replaced by the id the POST with that
    bulkId was given; 409 when no successful POST of this request had it."""
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        if match is None:
            return value
        if match.group(1) not in created:
            raise ScimError(
                409,
                f"{value} does not name a successful POST of this request",
                "invalidValue",
            )
        return created[match.group(1)]
    if isinstance(value, dict):
        return {key: resolve(item, created) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, created) for item in value]
    return value


def resolve_path(path: Any, created: dict[str, str]) -> Any:
    """A path whose segments may be references (``/Groups/bulkId:team``)."""
    if not isinstance(path, str):
        return path
    return "/".join(resolve(segment, created) for segment in path.split("/"))


def execution_order(operations: list[dict[str, Any]]) -> list[int]:
    """The order to run ``operations`` in: each after the POSTs whose bulkIds it
    refers to (a forward reference is allowed, RFC 7644 §3.7.2), else in the
    order sent. An operation in a cycle of references keeps its place and
    will fail: its reference is not resolved yet when it runs."""
    posts = {
        op.get("bulkId"): index
        for index, op in enumerate(operations)
        if str(op.get("method", "")).upper() == "POST" and isinstance(op.get("bulkId"), str)
    }
    needs = {
        index: sorted(
            posts[b] for b in operation_references(op) if b in posts and posts[b] != index
        )
        for index, op in enumerate(operations)
    }
    order: list[int] = []
    state: dict[int, str] = {}

    def visit(index: int) -> None:
        if state.get(index) is not None:
            return  # done, or in a cycle being walked
        state[index] = "walking"
        for first in needs[index]:
            visit(first)
        state[index] = "done"
        order.append(index)

    for index in range(len(operations)):
        visit(index)
    return order


def target(method: str, path: Any) -> tuple[str, str | None]:
    """The endpoint (``Users``/``Groups``, named in any case) and resource id an
    operation names."""
    match = _PATH.match(path) if isinstance(path, str) else None
    endpoint = endpoint_name(match.group(1)) if match else None
    if match is None or endpoint not in _OPERATION_ENDPOINTS:
        raise ScimError(400, f"unsupported bulk path {path!r}", "invalidPath")
    resource_id = match.group(2)
    if (method == "POST") == (resource_id is not None):
        raise ScimError(
            400, f"{method} {path}: POST names a collection, others a resource", "invalidPath"
        )
    return endpoint, resource_id
