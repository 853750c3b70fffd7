"""Managing a tenant's plan rules, with a preview of what a change would do.

A change (add, move, remove, enable, disable) is made in the caller's
transaction; :meth:`RuleEditor.preview` then compares what the new rules ask
for with what every user holds: which users would change plan and, per
module, the seats in use now and after, against the seats bought.
:meth:`RuleEditor.apply` recomputes every user; a dry run simply rolls the
transaction back after the preview.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.assignment import LicenseCatalog
from licensing_core.counting import user_license_seats
from licensing_core.links import lock_user_licenses
from licensing_core.tables import AssociatePlan, LicenseAssocLink, ModuleLicense
from scimsrv.provisioning.recompute import CHUNK, Provisioner, load_facts, load_rules
from scimsrv.provisioning.rules import Rule, check_rule_fields, requested_plans
from scimsrv.scim.errors import ScimError
from scimsrv.storage.tables import PlanRule, ScimUser


@dataclass(frozen=True)
class PlanChange:
    user_id: str
    user_name: str
    before: str
    after: str


@dataclass(frozen=True)
class SeatImpact:
    module_name: str
    bought: int
    unrestricted: bool
    in_use: int
    after: int

    @property
    def short(self) -> int:
        """Seats missing after the change (users who would wait)."""
        return 0 if self.unrestricted else max(0, self.after - self.bought)


@dataclass(frozen=True)
class Preview:
    changes: list[PlanChange]
    seats: list[SeatImpact]


def rule_view(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "position": rule.position,
        "scope": rule.scope,
        "target": rule.target,
        "targetBy": rule.target_by,
        "plans": rule.plans.name,
        "mode": rule.mode,
        "enabled": rule.enabled,
        "description": rule.description,
        "summary": rule.describe(),
    }


class RuleEditor:
    """Edits one tenant's rules inside the caller's transaction."""

    def __init__(self, session: Session, tenant_id: str, *, at: datetime) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.at = at

    def rules(self) -> list[Rule]:
        return load_rules(self.session, self.tenant_id)

    def add(
        self,
        *,
        scope: str,
        plans: str = "",
        mode: str = "always",
        target: str = "",
        target_by: str = "displayName",
        position: int | None = None,
        description: str = "",
    ) -> Rule:
        """Insert a rule at ``position`` (1-based; default: last)."""
        try:
            combination = check_rule_fields(scope, target, plans, mode)
        except ValueError as exc:
            raise ScimError(400, str(exc), "invalidValue") from exc
        if target_by not in ("displayName", "externalId"):
            raise ScimError(400, f"targetBy must be displayName or externalId, not {target_by!r}")
        rows = self._rows()
        row = PlanRule(
            tenant_id=self.tenant_id,
            position=len(rows) + 1,
            scope=scope,
            target=target,
            target_by=target_by,
            plans=combination.name,
            mode=mode,
            enabled=True,
            description=description,
            created=self.at,
            updated=self.at,
        )
        self.session.add(row)
        rows.append(row)
        self._renumber(rows, row, position)
        return Rule.from_row(row)

    def move(self, rule_id: int, position: int) -> Rule:
        rows = self._rows()
        row = self._find(rows, rule_id)
        self._renumber(rows, row, position)
        return Rule.from_row(row)

    def remove(self, rule_id: int) -> None:
        rows = self._rows()
        row = self._find(rows, rule_id)
        self.session.delete(row)
        rows.remove(row)
        self._renumber(rows, None, None)

    def set_enabled(self, rule_id: int, enabled: bool) -> Rule:
        row = self._find(self._rows(), rule_id)
        row.enabled = enabled
        row.updated = self.at
        self.session.flush()
        return Rule.from_row(row)

    def preview(self) -> Preview:
        """What the rules as they stand in this transaction would change."""
        rules = self.rules()
        catalog = LicenseCatalog(lock_user_licenses(self.session, self.tenant_id))
        delta: Counter[str] = Counter()
        changes: list[PlanChange] = []
        for chunk in self._user_chunks():
            facts = load_facts(self.session, self.tenant_id, [user_id for user_id, _ in chunk])
            states = self._states([facts[u][0] for u, _ in chunk if u in facts])
            for user_id, user_name in chunk:
                assoc_id, _, user = facts[user_id]
                wanted = requested_plans(user, rules)
                state = states.get(assoc_id)
                before = state.requested if state else ""
                if wanted.name == before:
                    continue
                changes.append(PlanChange(user_id, user_name, before, wanted.name))
                needed = {m.name for p in wanted for m in catalog.try_required(p) or []}
                held = self._held(assoc_id)
                delta.update(needed - held)
                delta.subtract(held - needed)
        plans = {m.name for m in catalog.modules if m.is_plan}
        seats = [
            SeatImpact(s.module_name, s.bought, s.unrestricted, s.in_use, s.in_use + delta[name])
            for s in user_license_seats(self.session, self.tenant_id)
            if (name := s.module_name) in plans or delta[name]
        ]
        return Preview(changes, seats)

    def apply(self, cause: str) -> None:
        """Recompute every user of the tenant under the rules as they now stand."""
        provisioner = Provisioner(self.session, self.tenant_id, at=self.at, cause=cause)
        provisioner.all_users_changed()
        provisioner.finish()

    def _rows(self) -> list[PlanRule]:
        return list(
            self.session.execute(
                select(PlanRule)
                .where(PlanRule.tenant_id == self.tenant_id)
                .order_by(PlanRule.position, PlanRule.id)
                .with_for_update()
            ).scalars()
        )

    def _find(self, rows: list[PlanRule], rule_id: int) -> PlanRule:
        for row in rows:
            if row.id == rule_id:
                return row
        raise ScimError(404, f"tenant {self.tenant_id!r} has no rule {rule_id}")

    def _renumber(self, rows: list[PlanRule], moved: PlanRule | None, position: int | None):
        if moved is not None:
            if position is not None and not 1 <= position <= len(rows):
                raise ScimError(400, f"position must be between 1 and {len(rows)}", "invalidValue")
            rows.remove(moved)
            rows.insert((position or len(rows) + 1) - 1, moved)
        for index, row in enumerate(rows, start=1):
            if row.position != index:
                row.position = index
                row.updated = self.at
        self.session.flush()

    def _user_chunks(self):
        after = ""
        while True:
            chunk = self.session.execute(
                select(ScimUser.id, ScimUser.user_name)
                .where(ScimUser.tenant_id == self.tenant_id, ScimUser.id > after)
                .order_by(ScimUser.id)
                .limit(CHUNK)
            ).all()
            if not chunk:
                return
            yield chunk
            after = chunk[-1][0]

    def _states(self, assoc_ids: list[int]) -> dict[int, AssociatePlan]:
        rows = self.session.execute(
            select(AssociatePlan).where(
                AssociatePlan.tenant_id == self.tenant_id,
                AssociatePlan.associate_id.in_(assoc_ids),
            )
        ).scalars()
        return {row.associate_id: row for row in rows}

    def _held(self, assoc_id: int) -> set[str]:
        return set(
            self.session.execute(
                select(ModuleLicense.module_name)
                .join(
                    LicenseAssocLink,
                    (LicenseAssocLink.tenant_id == ModuleLicense.tenant_id)
                    & (LicenseAssocLink.module_license_id == ModuleLicense.id),
                )
                .where(
                    LicenseAssocLink.tenant_id == self.tenant_id,
                    LicenseAssocLink.assoc_id == assoc_id,
                )
            ).scalars()
        )


def preview_view(preview: Preview) -> dict:
    """The preview as JSON: users who would change plan and seats per module."""
    return {
        "changes": [
            {"userId": c.user_id, "userName": c.user_name, "before": c.before, "after": c.after}
            for c in preview.changes
        ],
        "seats": [
            {
                "module": s.module_name,
                "bought": s.bought,
                "unrestricted": s.unrestricted,
                "inUse": s.in_use,
                "after": s.after,
                "short": s.short,
            }
            for s in preview.seats
        ],
    }
