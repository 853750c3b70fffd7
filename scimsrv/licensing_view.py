"""The read-only licensing extension of a SCIM User, from plan state and links.

Read for a whole page of users in two queries; never stored in the user's
JSON, so it cannot drift from the license tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.plans import Combination
from licensing_core.tables import NO_PLAN, AssociatePlan, LicenseAssocLink, ModuleLicense


def licensing_views(
    session: Session, tenant_id: str, associate_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """For each associate: planCombination, requestedPlans, basePlans, licenses, state, reason."""
    ids = list(associate_ids)
    states = {
        row.associate_id: row
        for row in session.execute(
            select(AssociatePlan).where(
                AssociatePlan.tenant_id == tenant_id, AssociatePlan.associate_id.in_(ids)
            )
        ).scalars()
    }
    held: dict[int, list[str]] = {}
    for assoc_id, name in session.execute(
        select(LicenseAssocLink.assoc_id, ModuleLicense.module_name)
        .join(
            ModuleLicense,
            (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
            & (ModuleLicense.id == LicenseAssocLink.module_license_id),
        )
        .where(LicenseAssocLink.tenant_id == tenant_id, LicenseAssocLink.assoc_id.in_(ids))
        .order_by(LicenseAssocLink.assoc_id, ModuleLicense.sort_order, ModuleLicense.id)
    ):
        held.setdefault(assoc_id, []).append(name)
    return {assoc_id: _view(states.get(assoc_id), held.get(assoc_id, [])) for assoc_id in ids}


def _view(state: AssociatePlan | None, licenses: list[str]) -> dict[str, Any]:
    granted = Combination.parse(state.granted) if state and state.granted else None
    view: dict[str, Any] = {"state": state.state if state else NO_PLAN}
    if granted is not None:
        view["planCombination"] = granted.name
        view["basePlans"] = [plan.name for plan in granted]
    if state and state.requested:
        view["requestedPlans"] = state.requested
    if licenses:
        view["licenses"] = licenses
    if state and state.reason:
        view["reason"] = state.reason
    return view
