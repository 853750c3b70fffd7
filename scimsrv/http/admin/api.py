"""The operators' admin API under ``/admin/v1``, behind operator bearer tokens.

Operator tokens (``scimsrv operator token issue``) reach every tenant's admin
routes and no SCIM route; tenant tokens reach only their tenant's SCIM API.
Routes: rules (list, add, change, remove, preview), the consistency check,
the license set (status; import of a signed set), usage reports and the
Licenses page (:mod:`scimsrv.http.admin.reports`).
Rule edits take ``?dryRun=true`` to answer the preview without changing
anything; without it the edit, the recompute of every user and the answer's
preview commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from licensing_core.activation import ImportRejected, ImportReport, import_license_set
from licensing_core.db import Database
from licensing_core.errors import InvalidLicenseSet, UnknownTenant
from licensing_core.license_set import parse_license_set
from licensing_core.license_status import LicenseStatus, license_status
from licensing_core.tenants import get_tenant
from scimsrv.http.admin.reports import report_routes
from scimsrv.http.bodies import read_json
from scimsrv.provisioning.consistency import check_tenant
from scimsrv.scim.errors import ScimError
from scimsrv.services.rules import RuleEditor, preview_view, rule_view


def _dry_run(request: Request) -> bool:
    return request.query_params.get("dryRun", "").lower() in ("1", "true", "yes")


def _edit(request: Request, action: Callable[[RuleEditor], object]) -> dict:
    """Run a rule edit; commit it with a recompute, or roll it back on dryRun."""
    db: Database = request.app.state.db
    tenant_id = request.path_params["tenant"]
    dry_run = _dry_run(request)
    with db.dry_run() if dry_run else db.write() as session:
        _require_tenant(session, tenant_id)
        editor = RuleEditor(session, tenant_id, at=request.app.state.clock())
        result = action(editor)
        preview = preview_view(editor.preview())
        if not dry_run:
            editor.apply("rules changed")
        rules = [rule_view(rule) for rule in editor.rules()]
    body = {"dryRun": dry_run, "rules": rules, "preview": preview}
    if result is not None:
        body["rule"] = rule_view(result)
    return body


def _require_tenant(session, tenant_id: str) -> None:
    try:
        get_tenant(session, tenant_id)
    except UnknownTenant as exc:
        raise ScimError(404, str(exc)) from exc


async def list_rules(request: Request) -> Response:
    def run() -> dict:
        with request.app.state.db.read() as session:
            tenant_id = request.path_params["tenant"]
            _require_tenant(session, tenant_id)
            rules = RuleEditor(session, tenant_id, at=request.app.state.clock()).rules()
            return {"rules": [rule_view(rule) for rule in rules]}

    return JSONResponse(await run_in_threadpool(run))


async def add_rule(request: Request) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    fields = {
        "scope": body.get("scope", ""),
        "plans": body.get("plans", ""),
        "mode": body.get("mode", "always"),
        "target": body.get("target", ""),
        "target_by": body.get("targetBy", "displayName"),
        "position": body.get("position"),
        "description": body.get("description", ""),
    }
    if not all(isinstance(fields[k], str) for k in ("scope", "plans", "mode", "target")):
        raise ScimError(400, "scope, plans, mode and target must be strings", "invalidValue")
    if fields["position"] is not None and not isinstance(fields["position"], int):
        raise ScimError(400, "position must be an integer", "invalidValue")
    result = await run_in_threadpool(_edit, request, lambda e: e.add(**fields))
    return JSONResponse(result, status_code=200 if result["dryRun"] else 201)


async def change_rule(request: Request) -> Response:
    body = await read_json(request)
    rule_id = _rule_id(request)
    if not isinstance(body, dict) or not set(body) <= {"enabled", "position"} or not body:
        raise ScimError(400, "send {'enabled': bool} and/or {'position': int}", "invalidValue")
    enabled, position = body.get("enabled"), body.get("position")
    if enabled is not None and not isinstance(enabled, bool):
        raise ScimError(400, "enabled must be true or false", "invalidValue")
    if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
        raise ScimError(400, "position must be an integer", "invalidValue")

    def action(editor: RuleEditor):
        rule = None
        if enabled is not None:
            rule = editor.set_enabled(rule_id, enabled)
        if position is not None:
            rule = editor.move(rule_id, position)
        return rule

    return JSONResponse(await run_in_threadpool(_edit, request, action))


async def remove_rule(request: Request) -> Response:
    rule_id = _rule_id(request)
    return JSONResponse(await run_in_threadpool(_edit, request, lambda e: e.remove(rule_id)))


async def preview_rules(request: Request) -> Response:
    """What the rules as they stand would change (users not yet recomputed)."""
    return JSONResponse(await run_in_threadpool(_preview, request))


def _preview(request: Request) -> dict:
    with request.app.state.db.dry_run() as session:
        tenant_id = request.path_params["tenant"]
        _require_tenant(session, tenant_id)
        return preview_view(RuleEditor(session, tenant_id, at=request.app.state.clock()).preview())


async def check(request: Request) -> Response:
    """The tenant's consistency check (links against a recomputation)."""

    def run() -> dict:
        with request.app.state.db.read() as session:
            tenant_id = request.path_params["tenant"]
            _require_tenant(session, tenant_id)
            problems = check_tenant(session, tenant_id)
            return {"consistent": not problems, "problems": problems}

    return JSONResponse(await run_in_threadpool(run))


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def status_view(status: LicenseStatus) -> dict:
    """The tenant's license status as JSON: owner, dates, verification, per-module seats."""
    return {
        "tenant": status.tenant_id,
        "at": _when(status.at),
        "owner": status.owner_name,
        "company": status.company_name,
        "serialNumber": status.serial_number,
        "signedWith": status.signed_with,
        "expiration": _when(status.expiration),
        "graceTo": _when(status.grace_to),
        "maintenanceTo": _when(status.maintenance_to),
        "adminWarningDate": _when(status.admin_warning_date),
        "nextCheckDate": _when(status.next_check_date),
        "valid": status.valid,
        "readOnly": status.read_only,
        "errors": list(status.errors),
        "warnings": list(status.warnings),
        "modules": [
            {
                "module": m.module_name,
                "version": m.module_version,
                "description": m.description,
                "licenseType": m.license_type,
                "hidden": m.hidden,
                "plan": m.is_plan,
                "bought": m.bought,
                "unrestricted": m.unrestricted,
                "inUse": m.in_use,
                "free": m.free,
                "valid": m.valid,
                "problem": m.problem or None,
            }
            for m in status.modules
        ],
    }


def import_view(report: ImportReport) -> dict:
    """An import's report: accepted, signature problems, and per module the seats
    in use, the new total, how many to remove and who holds them."""
    return {
        "accepted": report.accepted,
        "owner": report.owner_name,
        "serialNumber": report.serial_number,
        "problems": list(report.problems),
        "modules": [
            {
                "module": m.module_name,
                "version": m.module_version,
                "change": m.change,
                "inUse": m.in_use,
                "oldTotal": m.old_total,
                "newTotal": m.new_total,
                "unrestricted": m.unrestricted,
                "free": m.free,
                "toRemove": m.to_remove,
                "why": m.why or None,
                "heldBy": [
                    {"associateId": h.assoc_id, "name": h.name, "userName": h.user_name}
                    for h in m.holders
                ],
            }
            for m in report.modules
        ],
    }


async def show_license_set(request: Request) -> Response:
    """The tenant's license status (as ``scimsrv license show``)."""

    def run() -> dict:
        with request.app.state.db.read() as session:
            return status_view(
                license_status(session, request.path_params["tenant"], request.app.state.clock())
            )

    return JSONResponse(await run_in_threadpool(run))


async def import_license(request: Request) -> Response:
    """Activate a signed license set (the file's JSON as the body); 409 with the
    report when it does not verify or more seats are in use than it grants."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a license set JSON object", "invalidSyntax")
    try:
        spec = parse_license_set(body)
    except InvalidLicenseSet as exc:
        raise ScimError(400, str(exc), "invalidValue") from exc

    def run() -> JSONResponse:
        try:
            with request.app.state.db.write() as session:
                report = import_license_set(
                    session, request.path_params["tenant"], spec, at=request.app.state.clock()
                )
        except ImportRejected as rejected:
            return JSONResponse({"detail": str(rejected), **import_view(rejected.report)}, 409)
        return JSONResponse(import_view(report))

    return await run_in_threadpool(run)


def _rule_id(request: Request) -> int:
    raw = request.path_params["rule"]
    if not raw.isdigit():
        raise ScimError(404, f"no rule {raw!r}")
    return int(raw)


def admin_routes() -> list[BaseRoute]:
    """Routes relative to ``/admin/v1``; the app mounts them behind OperatorAuth."""
    return [
        Route("/tenants/{tenant}/rules", list_rules, methods=["GET"]),
        Route("/tenants/{tenant}/rules", add_rule, methods=["POST"]),
        Route("/tenants/{tenant}/rules/preview", preview_rules, methods=["GET"]),
        Route("/tenants/{tenant}/rules/{rule}", change_rule, methods=["PATCH"]),
        Route("/tenants/{tenant}/rules/{rule}", remove_rule, methods=["DELETE"]),
        Route("/tenants/{tenant}/check", check, methods=["GET"]),
        Route("/tenants/{tenant}/license-set", show_license_set, methods=["GET"]),
        Route("/tenants/{tenant}/license-set", import_license, methods=["POST"]),
        *report_routes(),
    ]
