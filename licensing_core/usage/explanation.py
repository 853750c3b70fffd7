"""The users behind a figure: who held a plan or a combination, or waited for seats,
and from when to when (``--explain``), streamed in associate order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, literal, select
from sqlalchemy.orm import Session

from licensing_core.periods import Period
from licensing_core.plans import Combination, plan_named
from licensing_core.tables import Associate
from licensing_core.tenants import get_tenant
from licensing_core.usage.intervals import combination_intervals, plan_intervals, plan_links
from licensing_core.usage.names import ALL_USERS, PLAN_BITS, explain_target
from licensing_core.usage.pending import pending_intervals
from licensing_core.usage.sqltime import read_time


@dataclass(frozen=True)
class ExplainRow:
    """One user behind a number: held (or waited) from ``start`` to ``end``.

    For a plan, ``start``/``end`` are the real grant and release instants (end
    None: still held at the end of the counted span). For a combination or
    ``users`` they are clipped to the period start. For ``pending`` the
    ``detail`` is the request and reason.
    """

    associate_id: int
    name: str
    start: datetime
    end: datetime | None
    detail: str = ""


def explain(
    session: Session, tenant_id: str, period: Period, name: str, *, as_of: datetime
) -> Iterator[ExplainRow]:
    """The users behind the figures of ``name`` over ``period``, streamed in associate order.

    Raises InvalidCombination for an unknown plan or combination.
    """
    kind, target = explain_target(name)
    get_tenant(session, tenant_id)
    until = max(period.start, min(period.end, as_of))
    if until <= period.start:
        return
    if kind == "pending":
        iv = pending_intervals(tenant_id, period.start, until)
        stmt = select(
            iv.c.associate_id,
            Associate.name,
            iv.c.since,
            iv.c.t1,
            literal("wants ") + iv.c.requested + literal("; ") + iv.c.reason,
        ).outerjoin(
            Associate, and_(Associate.tenant_id == tenant_id, Associate.id == iv.c.associate_id)
        )
        order = (iv.c.associate_id, iv.c.t0)
    elif kind == "plan":
        links = plan_links(tenant_id, period.start, until, plan=plan_named(target))
        stmt = select(
            links.c.assoc_id, Associate.name, links.c.granted, links.c.released, literal("")
        ).outerjoin(
            Associate, and_(Associate.tenant_id == tenant_id, Associate.id == links.c.assoc_id)
        )
        order = (links.c.assoc_id, links.c.granted)
    else:
        plans = plan_intervals(tenant_id, period.start, until)
        combos = combination_intervals(plans)
        c = combos.c
        wanted = (
            c.mask > 0
            if kind == ALL_USERS
            else c.mask == sum(PLAN_BITS[p.module_name] for p in Combination.parse(target))
        )
        stmt = (
            select(c.assoc_id, Associate.name, c.t0, c.t1, literal(""))
            .outerjoin(
                Associate, and_(Associate.tenant_id == tenant_id, Associate.id == c.assoc_id)
            )
            .where(wanted)
        )
        order = (c.assoc_id, c.t0)
    rows = session.execute(stmt.order_by(*order).execution_options(yield_per=5_000))
    for assoc_id, assoc_name, start, end, detail in rows:
        yield ExplainRow(
            assoc_id,
            assoc_name or f"#{assoc_id}",
            read_time(start),
            read_time(end) if end is not None else None,
            detail or "",
        )
