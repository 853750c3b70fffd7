"""Rule use cases: list, add, move, remove, enable, disable (the preview of the
rules as they stand is :func:`scimsrv.services.tenants.reconcile`, rolled back).

An edit locks the tenant exclusively (:attr:`~scimsrv.storage.plans.Lock.TENANT`),
changes the rows and recomputes every user, describing what changed
(:mod:`scimsrv.provisioning.preview`); a dry run or a preview is the same
transaction rolled back by its caller. HTTP and the command line both run
these; an edit's audit entry lists the rules before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from licensing_core.text import storable
from scimsrv.provisioning.preview import Preview, recompute_described
from scimsrv.provisioning.rules import Rule, check_rule_fields
from scimsrv.scim.errors import ScimError
from scimsrv.storage.plans import Lock
from scimsrv.storage.tables import BY_DISPLAY_NAME, BY_EXTERNAL_ID, PlanRule

# An edit: (tx, the tenant's rule rows in order) -> the rule it made or changed, if any.
Edit = Callable[[object, list[PlanRule]], PlanRule | None]


@dataclass(frozen=True)
class EditResult:
    """The rules after an edit, the rule it touched, and what it changes."""

    rules: list[Rule]
    rule: Rule | None
    preview: Preview


def list_rules(tx) -> list[Rule]:
    return [Rule.from_row(r) for r in tx.storage.rules.lock_with_rules(Lock.NONE)]


def edit_rules(tx, edit: Edit) -> EditResult:
    """Run one edit under the tenant's exclusive lock and recompute every user;
    the caller rolls a dry run back.

    :raises TenantDeleted: a deleted tenant's rules are gone for good (the lock says so).
    """
    tx.storage.rules.lock_with_rules(Lock.TENANT)
    rows = tx.storage.rules.rows()
    before = [Rule.from_row(row) for row in rows]
    touched = edit(tx, rows)
    rules = [Rule.from_row(row) for row in rows]
    tx.journal.detail("rules", {"before": _listed(before), "after": _listed(rules)})
    changes = recompute_described(tx, rules)
    return EditResult(rules, Rule.from_row(touched) if touched else None, changes)


def _listed(rules: list[Rule]) -> list[dict]:
    """The rules in order, for the audit entry."""
    return [
        {"id": r.id, "position": r.position, "rule": r.describe(), "enabled": r.enabled}
        for r in rules
    ]


def add(
    *,
    scope: str,
    plans: str = "",
    mode: str = "always",
    target: str = "",
    target_by: str = BY_DISPLAY_NAME,
    position: int | None = None,
    description: str = "",
) -> Edit:
    """Insert a rule at ``position`` (1-based; default: last).

    :raises ScimError: 400 ``invalidValue`` for a bad field or position.
    """

    def run(tx, rows: list[PlanRule]) -> PlanRule:
        try:
            combination = check_rule_fields(scope, target, plans, mode)
            storable("target", target)
            storable("description", description)
        except ValueError as exc:
            raise ScimError(400, str(exc), "invalidValue") from exc
        if target_by not in (BY_DISPLAY_NAME, BY_EXTERNAL_ID):
            raise ScimError(
                400,
                f"targetBy must be {BY_DISPLAY_NAME} or {BY_EXTERNAL_ID}, not {target_by!r}",
                "invalidValue",
            )
        row = PlanRule(
            tenant_id=tx.tenant_id,
            position=len(rows) + 1,
            scope=scope,
            target=target,
            target_by=target_by,
            plans=combination.name,
            mode=mode,
            enabled=True,
            description=description,
            created=tx.at,
            updated=tx.at,
        )
        tx.storage.rules.add(row)
        rows.append(row)
        _place(tx, rows, row, position)
        return row

    return run


def move(rule_id: int, position: int) -> Edit:
    def run(tx, rows: list[PlanRule]) -> PlanRule:
        row = _find(tx, rows, rule_id)
        _place(tx, rows, row, position)
        return row

    return run


def remove(rule_id: int) -> Edit:
    def run(tx, rows: list[PlanRule]) -> None:
        row = _find(tx, rows, rule_id)
        tx.storage.rules.delete(row)
        rows.remove(row)
        tx.storage.rules.save(rows, tx.at)

    return run


def set_enabled(rule_id: int, enabled: bool) -> Edit:
    def run(tx, rows: list[PlanRule]) -> PlanRule:
        row = _find(tx, rows, rule_id)
        row.enabled = enabled
        row.updated = tx.at
        tx.storage.rules.save(rows, tx.at)
        return row

    return run


def _find(tx, rows: list[PlanRule], rule_id: int) -> PlanRule:
    for row in rows:
        if row.id == rule_id:
            return row
    raise ScimError(404, f"tenant {tx.tenant_id!r} has no rule {rule_id}")


def _place(tx, rows: list[PlanRule], moved: PlanRule, position: int | None) -> None:
    if position is not None and not 1 <= position <= len(rows):
        raise ScimError(400, f"position must be between 1 and {len(rows)}", "invalidValue")
    rows.remove(moved)
    rows.insert((position or len(rows) + 1) - 1, moved)
    tx.storage.rules.save(rows, tx.at)
