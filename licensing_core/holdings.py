"""What associates hold: their plan state (requested, granted, state, reason,
queue position) and their license links, read in one round trip.

:class:`~licensing_core.plan_state.PlanBook` reads holdings under the plan
lock before it changes them; responses read them to show a user's plans
(:func:`plan_views`). Statements are built once, only bound values change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from licensing_core.plans import Combination, plan_for_module
from licensing_core.tables import NO_PLAN, PENDING, AssociatePlan, LicenseAssocLink, ModuleLicense

_plan = AssociatePlan.__table__.c
_link = LicenseAssocLink.__table__.c
_module = ModuleLicense.__table__.c
_TEXT = literal(None, String)
_NUMBER = literal(None, Integer)
_MOMENT = literal(None, DateTime)

CHUNK = 500


@dataclass
class Holding:
    """One associate's plan state and links (module id -> link id)."""

    associate_id: int
    requested: str = ""
    granted: str = ""
    state: str = NO_PLAN
    reason: str = ""
    pending_since: datetime | None = None
    version: int = 0
    updated: datetime | None = None
    links: dict[int, int] = field(default_factory=dict)

    @property
    def stored(self) -> bool:
        """Whether an associate_plan row exists (version 0: never written)."""
        return self.version > 0


def _states(condition):
    return select(
        _plan.associate_id.label("associate_id"),
        literal(0).label("kind"),
        _plan.requested.label("requested"),
        _plan.granted.label("granted"),
        _plan.state.label("state"),
        _plan.reason.label("reason"),
        _plan.pending_since.label("pending_since"),
        _plan.version.label("version"),
        _plan.updated.label("updated"),
        _NUMBER.label("module_id"),
        _NUMBER.label("link_id"),
        _TEXT.label("module_name"),
        _NUMBER.label("sort_order"),
    ).where(_plan.tenant_id == bindparam("tenant_id"), condition)


def _links(condition):
    return (
        select(
            _link.assoc_id,
            literal(1),
            *[_TEXT] * 4,
            _MOMENT,
            _NUMBER,
            _MOMENT,
            _link.moduleLicense_id,
            _link.LicenseAssocLink_id,
            _module.moduleName,
            _module.sortOrder,
        )
        .join_from(
            LicenseAssocLink.__table__,
            ModuleLicense.__table__,
            (_module.tenant_id == _link.tenant_id)
            & (_module.moduleLicense_id == _link.moduleLicense_id),
        )
        .where(_link.tenant_id == bindparam("tenant_id"), condition)
    )


# Kind 0 rows carry an associate's plan state, kind 1 rows one held link each
# (module id, link id, module name, signature order). Other layers may union
# their own kinds in, with the same columns.
_IDS = bindparam("ids", expanding=True)
PLAN_SELECTS = (_states(_plan.associate_id.in_(_IDS)), _links(_link.assoc_id.in_(_IDS)))
ORDER = ("associate_id", "kind", "sort_order", "module_id")
_OF_ASSOCIATES = union_all(*PLAN_SELECTS).order_by(*ORDER)

_PENDING = (
    select(_plan.associate_id)
    .where(_plan.tenant_id == bindparam("tenant_id"), _plan.state == PENDING)
    .scalar_subquery()
)
_QUEUE = union_all(_states(_plan.state == PENDING), _links(_link.assoc_id.in_(_PENDING))).order_by(
    *ORDER
)


def _collect(rows) -> dict[int, Holding]:
    found: dict[int, Holding] = {}
    for row in rows:
        holding = found.get(row.associate_id)
        if holding is None:
            holding = found[row.associate_id] = Holding(row.associate_id)
        if row.kind == 0:
            holding.requested = row.requested
            holding.granted = row.granted
            holding.state = row.state
            holding.reason = row.reason
            holding.pending_since = row.pending_since
            holding.version = row.version
            holding.updated = row.updated
        else:
            holding.links[row.module_id] = row.link_id
    return found


def read_holdings(
    session: Session, tenant_id: str, associate_ids: Iterable[int]
) -> dict[int, Holding]:
    """Every given associate's holding (an empty one when it has none)."""
    ids = sorted(set(associate_ids))
    found: dict[int, Holding] = {}
    connection = session.connection()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(
            _collect(connection.execute(_OF_ASSOCIATES, {"tenant_id": tenant_id, "ids": chunk}))
        )
    return {assoc_id: found.get(assoc_id) or Holding(assoc_id) for assoc_id in ids}


def tenants_with_pending(session: Session) -> list[str]:
    """The tenants where some associate waits for seats, by id."""
    rows = session.execute(
        select(_plan.tenant_id).where(_plan.state == PENDING).distinct().order_by(_plan.tenant_id)
    )
    return list(rows.scalars())


def pending_queue(session: Session, tenant_id: str) -> list[Holding]:
    """Associates waiting for seats, first waiting first (then by id)."""
    found = _collect(session.connection().execute(_QUEUE, {"tenant_id": tenant_id}))
    waiting = [h for h in found.values() if h.state == PENDING]
    return sorted(waiting, key=lambda h: (h.pending_since or datetime.min, h.associate_id))


@dataclass(frozen=True)
class PlanView:
    """What a response shows of one associate's plans."""

    requested: str = ""
    granted: str = ""
    state: str = NO_PLAN
    reason: str = ""
    version: int = 0
    updated: datetime | None = None
    licenses: tuple[str, ...] = ()

    def with_failing_rows(self, problems: Mapping[str, str]) -> PlanView:
        """This view as it works while the rows named in ``problems`` (moduleName ->
        why it fails verification) do not: their licenses and the plans whose
        own row fails are gone, and the state is pending with the reason. The
        stored state is not changed: the rows work again, and the view with
        them, as soon as they verify (restored, or a valid set imported)."""
        failing = [name for name in self.licenses if name in problems]
        if not failing:
            return self
        lost = {plan_for_module(name) for name in failing}
        granted = Combination.parse(self.granted) if self.granted else ()
        kept = [plan for plan in granted if plan not in lost]
        reason = "; ".join(
            f"license {name!r} stopped working: {problems[name]}" for name in failing
        )
        return dataclasses.replace(
            self,
            granted=Combination.of(kept).name if kept else "",
            state=PENDING,
            reason="; ".join(filter(None, [self.reason, reason])),
            licenses=tuple(name for name in self.licenses if name not in problems),
        )


def plan_views_from(rows: Iterable, associate_ids: Sequence[int]) -> dict[int, PlanView]:
    """Fold rows of :data:`PLAN_SELECTS` (possibly part of a larger union) into views."""
    states: dict[int, tuple] = {}
    held: dict[int, list[str]] = {}
    for row in rows:
        if row.kind == 1:
            held.setdefault(row.associate_id, []).append(row.module_name)
        elif row.kind == 0:
            states[row.associate_id] = (
                row.requested,
                row.granted,
                row.state,
                row.reason,
                row.version,
                row.updated,
            )
    return {
        assoc_id: PlanView(
            *(states.get(assoc_id) or ("", "", NO_PLAN, "", 0, None)),
            licenses=tuple(held.get(assoc_id, ())),
        )
        for assoc_id in associate_ids
    }


def plan_views(
    session: Session, tenant_id: str, associate_ids: Sequence[int]
) -> dict[int, PlanView]:
    """Each associate's plan state and held license names (signature order), one query."""
    ids = list(associate_ids)
    if not ids:
        return {}
    rows = session.connection().execute(_OF_ASSOCIATES, {"tenant_id": tenant_id, "ids": ids})
    return plan_views_from(rows, ids)
