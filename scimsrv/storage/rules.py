"""A tenant's plan rules (plan_rule rows), edited in the caller's transaction.

Rule edits are rare operator actions: rows are ORM entities here. Read the
rules for a recompute with :func:`scimsrv.storage.plans.lock_with_rules`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scimsrv.storage.tables import PlanRule, ScimGroup


def rule_rows(session: Session, tenant_id: str) -> list[PlanRule]:
    """The tenant's rules in position order (lock the tenant first to edit them)."""
    return list(
        session.execute(
            select(PlanRule)
            .where(PlanRule.tenant_id == tenant_id)
            .order_by(PlanRule.position, PlanRule.id)
        ).scalars()
    )


def add_rule(session: Session, rule: PlanRule) -> None:
    session.add(rule)


def delete_rule(session: Session, rule: PlanRule) -> None:
    session.delete(rule)


def save(session: Session, rows: list[PlanRule], at: datetime) -> None:
    """Positions 1..n in list order, then every changed rule written."""
    for index, row in enumerate(rows, start=1):
        if row.position != index:
            row.position = index
            row.updated = at
    session.flush()


def groups_found(
    session: Session, tenant_id: str, display_names: Collection[str], external_ids: Collection[str]
) -> tuple[set[str], set[str]]:
    """Which of ``display_names`` (casefolded) and ``external_ids`` a group of the
    tenant has: the casefolded names and the externalIds found (two indexed lookups)."""
    names = {name.casefold() for name in display_names}
    found_names = set(
        session.scalars(
            select(ScimGroup.display_name_ci).where(
                ScimGroup.tenant_id == tenant_id, ScimGroup.display_name_ci.in_(names)
            )
        )
        if names
        else ()
    )
    found_ids = set(
        session.scalars(
            select(ScimGroup.external_id).where(
                ScimGroup.tenant_id == tenant_id, ScimGroup.external_id.in_(set(external_ids))
            )
        )
        if external_ids
        else ()
    )
    return found_names, found_ids
