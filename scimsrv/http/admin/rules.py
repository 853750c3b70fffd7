"""``/admin/v1/tenants/{tenant}/rules``: a tenant's group-to-plan rules.

Every edit answers the rules after it and its preview (which users change
plan, seats per module, warnings about rules that match nothing);
``?dryRun=true`` (or ``1``) answers the same and changes nothing, any value
but true/false/1/0 is a 400. Without it the edit, the recompute of every
user and the answer's preview commit together. Bodies are
:mod:`scimsrv.http.admin.bodies`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scimsrv.http.admin.bodies import NewRule, RuleChange, parsed
from scimsrv.http.admin.query import dry_run as is_dry_run
from scimsrv.http.admin.views import preview_view, rule_view
from scimsrv.http.auth import run
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.scim.errors import ScimError
from scimsrv.services import rules, tenants


async def _edit(request: Request, edit_for, status: int = 200) -> Response:
    """Run the edit ``edit_for(body)`` makes; answer rules, touched rule, preview."""
    raw = await read_body(request) if request.method in ("POST", "PATCH") else b""
    dry_run = is_dry_run(request)

    def work(tx):
        edit = edit_for(parse_json(raw) if raw else None)
        return rules.edit_rules(tx, edit)

    result = await run(request, work, write=True, dry_run=dry_run)
    body = {
        "dryRun": dry_run,
        "rules": [rule_view(rule) for rule in result.rules],
        "preview": preview_view(result.preview),
    }
    if result.rule is not None:
        body["rule"] = rule_view(result.rule)
    return JSONResponse(body, status_code=200 if dry_run else status)


async def list_rules(request: Request) -> Response:
    found = await run(request, rules.list_rules, write=False)
    return JSONResponse({"rules": [rule_view(rule) for rule in found]})


def _new_rule(body) -> rules.Edit:
    rule = parsed(NewRule, body)
    return rules.add(
        scope=rule.scope,
        plans=rule.plans,
        mode=rule.mode,
        target=rule.target,
        target_by=rule.targetBy,
        position=rule.position,
        description=rule.description,
    )


async def add_rule(request: Request) -> Response:
    return await _edit(request, _new_rule, status=201)


def _rule_id(request: Request) -> int:
    return request.path_params["rule"]  # the route's int converter: digits only


async def change_rule(request: Request) -> Response:
    rule_id = _rule_id(request)

    def change(body) -> rules.Edit:
        wanted = parsed(RuleChange, body)
        enabled, position = wanted.enabled, wanted.position
        if enabled is None and position is None:
            raise ScimError(400, "send enabled (true or false) and/or position", "invalidValue")
        edits = []
        if enabled is not None:
            edits.append(rules.set_enabled(rule_id, enabled))
        if position is not None:
            edits.append(rules.move(rule_id, position))

        def both(tx, rows):
            touched = None
            for edit in edits:
                touched = edit(tx, rows)
            return touched

        return both

    return await _edit(request, change)


async def remove_rule(request: Request) -> Response:
    rule_id = _rule_id(request)
    return await _edit(request, lambda _body: rules.remove(rule_id))


async def preview_rules(request: Request) -> Response:
    """What recomputing every user under the rules as they stand would change."""
    found = await run(request, tenants.reconcile, write=True, dry_run=True)
    return JSONResponse(preview_view(found))
