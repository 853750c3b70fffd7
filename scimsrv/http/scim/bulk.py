"""POST /Bulk (RFC 7644 §3.7): each operation its own use case and transaction,
results in the order sent.

An operation runs the same use case as its endpoint (``users.create_user``,
``groups.patch_group``...), so a bulk write obeys exactly the same rules. A
failed operation changes nothing; earlier successful ones stay committed.
Each operation has its own audit entry (its method and path, the bulk
request's id, its bulkId and position), a refused one too.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from scim2_models import Context
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from licensing_core.errors import LicensingError
from scimsrv.http.auth import caller, request_info, run
from scimsrv.http.bodies import parse_json, read_body, scim_response
from scimsrv.http.errors import domain_error
from scimsrv.http.scim.rendering import resource_body
from scimsrv.http.scim.resources import GROUPS, USERS, Kind
from scimsrv.http.urls import tenant_base_url
from scimsrv.scim.bulk import execution_order, parse_bulk, resolve, resolve_path, target
from scimsrv.scim.errors import ScimError, error_body
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.patch import parse_patch
from scimsrv.scim.urns import BULK_RESPONSE
from scimsrv.scim.values import checked_json
from scimsrv.services.audit import RequestInfo
from scimsrv.services.errors import Busy, Unauthorized
from scimsrv.services.transaction import Service

log = logging.getLogger("scimsrv")
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
    """Every operation, each in its own transaction (in a worker thread): in the
    order sent, except that an operation runs after the POSTs it refers to.
    The response lists the result of every operation processed, in the order
    sent; ``failOnErrors`` stops after that many failures."""
    service: Service = request.app.state.service
    who, tenant_id = caller(request), request.path_params["tenant"]
    # Each operation's values are checked with it: one bad value fails one operation.
    bulk = parse_bulk(parse_json(raw, checked=False))
    execute = Operation(service, who, tenant_id, tenant_base_url(request), request_info(request))
    results: dict[int, dict[str, Any]] = {}
    errors = 0
    for index in execution_order(bulk.operations):
        result = execute(index, bulk.operations[index])
        results[index] = result
        if int(result["status"]) >= 400:
            errors += 1
            if bulk.fail_on_errors is not None and errors >= bulk.fail_on_errors:
                break
    return {"schemas": [BULK_RESPONSE], "Operations": [results[i] for i in sorted(results)]}


class Operation:
    """Runs one bulk operation as its own use case and answers its result."""

    def __init__(
        self, service: Service, who, tenant_id: str, base: str, bulk_request: RequestInfo
    ) -> None:
        self.service = service
        self.who = who
        self.tenant_id = tenant_id
        self.base = base
        self.bulk_request = bulk_request
        self.created: dict[str, str] = {}  # bulkId -> id of the resource its POST made

    def __call__(self, index: int, operation: dict[str, Any]) -> dict[str, Any]:
        """The result of the operation at ``index`` of the request."""
        method = str(operation.get("method", "")).upper()
        result: dict[str, Any] = {"method": method}
        bulk_id = operation.get("bulkId")
        if bulk_id is not None:
            result["bulkId"] = bulk_id
        audited = self._request_info(index, method, bulk_id, operation.get("path"))
        try:
            return {**result, **self._run(method, bulk_id, operation, audited)}
        except (ScimError, LicensingError, Unauthorized, Busy) as exc:
            error = _error(exc)
        except Exception:  # one operation's surprise is not the whole request's
            log.exception("bulk %s operation failed", method)
            error = ScimError(500, "internal server error")
        if 400 <= error.status < 500 and error.status != 401:
            self.service.refused(self.who, self.tenant_id, audited, error.status, error.detail)
        body = error_body(error.status, error.detail, error.scim_type)
        return {**result, "status": str(error.status), "response": body}

    def _request_info(self, index: int, method: str, bulk_id: Any, path: Any) -> RequestInfo:
        """The operation as its audit entry records it: its own method and path
        below the tenant's base, the bulk request's id, its bulkId and position."""
        root = self.bulk_request.path.rsplit("/", 1)[0]
        return dataclasses.replace(
            self.bulk_request,
            method=method[:8],
            path=root + path if isinstance(path, str) else root,
            bulk_id=str(bulk_id)[:64] if bulk_id is not None else None,
            operation=index,
        )

    def _run(
        self, method: str, bulk_id: Any, operation: dict[str, Any], audited: RequestInfo
    ) -> dict[str, Any]:
        checked_json(operation)
        if method == "POST" and not isinstance(bulk_id, str):
            raise ScimError(400, "a bulk POST needs a bulkId", "invalidValue")
        path = resolve_path(operation.get("path", ""), self.created)
        endpoint, resource_id = target(method, path)
        data = resolve(operation.get("data"), self.created) if method != "DELETE" else None
        kind = _KINDS[endpoint]
        work = _work(method, kind, resource_id, data, operation.get("version"))
        view = self.service.run(
            work,
            caller=self.who,
            tenant_id=self.tenant_id,
            cause=f"bulk {method} /{endpoint}",
            request=audited,
        )
        status = {"POST": "201", "DELETE": "204"}.get(method, "200")
        if view is None:
            return {"status": status, "location": f"{self.base}/{endpoint}/{resource_id}"}
        answer = {
            "status": status,
            "location": f"{self.base}/{endpoint}/{view.id}",
            "version": view.version,
        }
        if method == "POST":
            self.created[bulk_id] = view.id
            answer["response"] = resource_body(
                self.base, view, endpoint, kind.model, None, Context.RESOURCE_CREATION_RESPONSE
            )
        return answer


async def bulk(request: Request) -> Response:
    raw = await read_body(request)
    # The whole request is refused at once for a bad token, before its body is parsed.
    await run(request, lambda tx: None, write=False)
    return scim_response(await run_in_threadpool(run_bulk, request, raw))
