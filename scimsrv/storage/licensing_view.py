"""The read-only licensing extension of a SCIM User, from plan state and links.

Read for a whole page of users in one query; never stored in the user's
JSON, so it cannot drift from the license tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from licensing_core.plans import Combination
from licensing_core.tables import NO_PLAN, AssociatePlan, LicenseAssocLink, ModuleLicense

_plan = AssociatePlan.__table__.c
_link = LicenseAssocLink.__table__.c
_module = ModuleLicense.__table__.c
_NO_TEXT = literal(None, String)
_NO_NUMBER = literal(None, Integer)

# One round trip for a page: the plan-state row of each associate (kind 0),
# then the modules each one holds (kind 1) in signature order. Built once:
# only the bound values change between requests.
_VIEWS = union_all(
    select(
        _plan.associate_id.label("associate_id"),
        literal(0).label("kind"),
        _plan.granted,
        _plan.requested,
        _plan.state,
        _plan.reason,
        _NO_NUMBER.label("sort_order"),
        _NO_NUMBER.label("module_id"),
    ).where(
        _plan.tenant_id == bindparam("tenant_id"),
        _plan.associate_id.in_(bindparam("ids", expanding=True)),
    ),
    select(
        _link.assoc_id,
        literal(1),
        _module.moduleName,
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _module.sortOrder,
        _module.moduleLicense_id,
    )
    .join_from(
        LicenseAssocLink.__table__,
        ModuleLicense.__table__,
        (_module.tenant_id == _link.tenant_id)
        & (_module.moduleLicense_id == _link.moduleLicense_id),
    )
    .where(
        _link.tenant_id == bindparam("tenant_id"),
        _link.assoc_id.in_(bindparam("ids", expanding=True)),
    ),
).order_by("associate_id", "kind", "sort_order", "module_id")


def licensing_views(
    session: Session, tenant_id: str, associate_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """For each associate: planCombination, requestedPlans, basePlans, licenses, state, reason."""
    ids = list(associate_ids)
    states: dict[int, tuple[str, str, str, str]] = {}
    held: dict[int, list[str]] = {}
    if ids:
        rows = session.connection().execute(_VIEWS, {"tenant_id": tenant_id, "ids": ids})
        for assoc_id, kind, text, requested, state, reason, _order, _id in rows:
            if kind == 0:
                states[assoc_id] = (text, requested, state, reason)
            else:
                held.setdefault(assoc_id, []).append(text)
    return {assoc_id: _view(states.get(assoc_id), held.get(assoc_id, [])) for assoc_id in ids}


@lru_cache(maxsize=256)
def _granted(granted: str) -> tuple[str, tuple[str, ...]]:
    """The display name and base plans of a granted combination (a pure parse)."""
    combination = Combination.parse(granted)
    return combination.name, tuple(plan.name for plan in combination)


def _view(state: tuple[str, str, str, str] | None, licenses: list[str]) -> dict[str, Any]:
    granted, requested, name, reason = state or ("", "", NO_PLAN, "")
    view: dict[str, Any] = {"state": name}
    if granted:
        view["planCombination"], base_plans = _granted(granted)
        view["basePlans"] = list(base_plans)
    if requested:
        view["requestedPlans"] = requested
    if licenses:
        view["licenses"] = licenses
    if reason:
        view["reason"] = reason
    return view
