"""POST /Bulk (RFC 7644 §3.7): each operation its own use case and transaction,
results in order.

An operation runs the same use case as its endpoint (``users.create_user``,
``groups.patch_group``...), so a bulk write obeys exactly the same rules. A
failed operation changes nothing; earlier successful ones stay committed.
"""

from __future__ import annotations

from typing import Any

from scim2_models import Context
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from licensing_core.errors import LicensingError
from scimsrv.http.auth import caller
from scimsrv.http.bodies import parse_json, read_body, scim_response, tenant_base_url
from scimsrv.http.errors import domain_error
from scimsrv.http.scim.rendering import resource_body
from scimsrv.http.scim.resources import GROUPS, USERS, Kind
from scimsrv.scim.bulk import parse_bulk, resolve, target
from scimsrv.scim.errors import ScimError, error_body
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.urns import BULK_RESPONSE
from scimsrv.services.errors import Busy, Unauthorized
from scimsrv.services.transaction import Service

_KINDS = {kind.endpoint: kind for kind in (USERS, GROUPS)}


def _work(method: str, kind: Kind, resource_id: str | None, data: Any, if_match):
    """The use case one operation runs (the same as its endpoint's)."""
    model = kind.model
    if method == "POST":
        return lambda tx: kind.create(
            tx, parse_resource(data, model, Context.RESOURCE_CREATION_REQUEST)
        )
    if method == "PUT":
        return lambda tx: kind.replace(
            tx,
            resource_id,
            parse_resource(data, model, Context.RESOURCE_REPLACEMENT_REQUEST),
            if_match,
        )
    if method == "PATCH":
        return lambda tx: kind.patch(tx, resource_id, parse_patch(data, model), if_match, False)
    if method == "DELETE":
        return lambda tx: kind.delete(tx, resource_id, if_match)
    raise ScimError(400, f"unsupported bulk method {method!r}", "invalidValue")


def _error(exc: Exception) -> ScimError:
    if isinstance(exc, LicensingError):
        return domain_error(exc)
    if isinstance(exc, Unauthorized):
        return ScimError(401, exc.detail)
    if isinstance(exc, Busy):
        return ScimError(503, exc.detail)
    assert isinstance(exc, ScimError)
    return exc


def run_bulk(request: Request, raw: bytes) -> dict[str, Any]:
    """Every operation in order, each in its own transaction (in a worker thread)."""
    service: Service = request.app.state.service
    who, tenant_id = caller(request), request.path_params["tenant"]
    base = tenant_base_url(request)
    # The whole request is refused at once for a bad token, before its body is read.
    service.run(lambda tx: None, caller=who, tenant_id=tenant_id, write=False)
    bulk = parse_bulk(parse_json(raw))
    created: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    for operation in bulk.operations:
        method = str(operation.get("method", "")).upper()
        result: dict[str, Any] = {"method": method}
        bulk_id = operation.get("bulkId")
        if bulk_id is not None:
            result["bulkId"] = bulk_id
        try:
            if method == "POST" and not isinstance(bulk_id, str):
                raise ScimError(400, "a bulk POST needs a bulkId", "invalidValue")
            path = resolve(operation.get("path", ""), created)
            endpoint, resource_id = target(method, path)
            data = resolve(operation.get("data"), created) if method != "DELETE" else None
            work = _work(method, _KINDS[endpoint], resource_id, data, operation.get("version"))
            view = service.run(
                work, caller=who, tenant_id=tenant_id, cause=f"bulk {method} /{endpoint}"
            )
        except (ScimError, LicensingError, Unauthorized, Busy) as exc:
            error = _error(exc)
            errors += 1
            result["status"] = str(error.status)
            result["response"] = error_body(error.status, error.detail, error.scim_type)
            results.append(result)
            if bulk.fail_on_errors is not None and errors >= bulk.fail_on_errors:
                break
            continue
        result["status"] = {"POST": "201", "DELETE": "204"}.get(method, "200")
        if view is not None:
            result["location"] = f"{base}/{endpoint}/{view.id}"
            result["version"] = view.version
            if method == "POST":
                created[bulk_id] = view.id
                result["response"] = resource_body(
                    base,
                    view,
                    endpoint,
                    _KINDS[endpoint].model,
                    None,
                    Context.RESOURCE_CREATION_RESPONSE,
                )
        else:
            result["location"] = f"{base}/{endpoint}/{resource_id}"
        results.append(result)
    return {"schemas": [BULK_RESPONSE], "Operations": results}


async def bulk(request: Request) -> Response:
    raw = await read_body(request)
    return scim_response(await run_in_threadpool(run_bulk, request, raw))
