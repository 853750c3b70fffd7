"""POST /Bulk (RFC 7644 §3.7): each operation its own transaction, results in order.

An operation runs the same functions as its endpoint (``users.create``,
``groups.patch``...), so a bulk write obeys exactly the same rules. A failed
operation changes nothing; earlier successful ones stay committed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from scim2_models import Context
from starlette.requests import Request
from starlette.responses import Response

from scimsrv.http.bodies import MAX_PAYLOAD_BYTES, read_json, scim_response, tenant_base_url
from scimsrv.http.scim import groups, users
from scimsrv.scim.errors import ScimError, error_body
from scimsrv.scim.parsing import parse_resource, require_object
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.schemas import GroupResource, UserResource
from scimsrv.scim.search import dump
from scimsrv.services.resources import write_transaction

MAX_OPERATIONS = 1000
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

_BULK_ID = re.compile(r"bulkId:([^\"\s/]+)")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")
_MODULES = {"Users": (users, UserResource), "Groups": (groups, GroupResource)}


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace ``bulkId:xyz`` by the id the operation with bulkId xyz was given."""
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


def _run(
    request: Request, operation: dict[str, Any], created: dict[str, str]
) -> tuple[int, Any, str]:
    """Run one operation in its own transaction: (status, resource or None, endpoint)."""
    method = str(operation.get("method", "")).upper()
    path = _resolve(operation.get("path", ""), created)
    match = _PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise ScimError(400, f"unsupported bulk path {path!r}", "invalidPath")
    endpoint, resource_id = match.groups()
    module, model = _MODULES[endpoint]
    if (method == "POST") == (resource_id is not None):
        raise ScimError(
            400, f"{method} {path}: POST names a collection, others a resource", "invalidPath"
        )
    data = _resolve(operation.get("data"), created) if method != "DELETE" else None
    if_match = operation.get("version")
    tenant_id = request.state.tenant_id
    with write_transaction(request, f"bulk {method} /{endpoint}") as session:
        if method == "POST":
            resource = parse_resource(data, model, Context.RESOURCE_CREATION_REQUEST)
            return 201, module.create(session, tenant_id, resource), endpoint
        if method == "PUT":
            wanted = parse_resource(data, model, Context.RESOURCE_REPLACEMENT_REQUEST)
            return 200, module.replace(session, tenant_id, resource_id, wanted, if_match), endpoint
        if method == "PATCH":
            patch = parse_patch(data, model)
            return 200, module.patch(session, tenant_id, resource_id, patch, if_match), endpoint
        if method == "DELETE":
            module.delete(session, tenant_id, resource_id, if_match)
            return 204, None, endpoint
    raise ScimError(400, f"unsupported bulk method {method!r}", "invalidValue")


async def bulk_endpoint(request: Request) -> Response:
    try:
        body = require_object(await read_json(request, MAX_PAYLOAD_BYTES), "BulkRequest")
    except ScimError as exc:
        if exc.status == 413:
            raise ScimError(
                413,
                f"the bulk request exceeds maxPayloadSize ({MAX_PAYLOAD_BYTES} bytes)",
                "tooLarge",
            ) from exc
        raise
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

    base = tenant_base_url(request)
    created: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    for operation in operations:
        result: dict[str, Any] = {"method": str(operation.get("method", "")).upper()}
        bulk_id = operation.get("bulkId")
        if bulk_id is not None:
            result["bulkId"] = bulk_id
        try:
            if result["method"] == "POST" and not isinstance(bulk_id, str):
                raise ScimError(400, "a bulk POST needs a bulkId", "invalidValue")
            status, resource, endpoint = _run(request, operation, created)
        except ScimError as exc:
            errors += 1
            result["status"] = str(exc.status)
            result["response"] = error_body(exc.status, exc.detail, exc.scim_type)
            results.append(result)
            if fail_on_errors is not None and errors >= fail_on_errors:
                break
            continue
        result["status"] = str(status)
        if resource is not None:
            result["location"] = f"{base}/{endpoint}/{resource.id}"
            if resource.meta is not None and resource.meta.version:
                result["version"] = resource.meta.version
            if status == 201:
                created[bulk_id] = resource.id
                resource.meta.location = result["location"]
                result["response"] = dump(resource, None, Context.RESOURCE_CREATION_RESPONSE)
        elif operation.get("path"):
            result["location"] = f"{base}{_resolve(operation['path'], created)}"
        results.append(result)
    return scim_response({"schemas": [BULK_RESPONSE], "Operations": results})
