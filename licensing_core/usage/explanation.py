"""The users behind a figure: who held a plan or a combination, or waited for seats,
and from when to when (``--explain``), streamed in associate order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from licensing_core.identities import Identity, associate_identities
from licensing_core.periods import Period
from licensing_core.plans import Combination, plan_named
from licensing_core.tables import LedgerEntry, PlanStateLog
from licensing_core.tenants import get_tenant
from licensing_core.usage.intervals import combination_intervals, plan_intervals, plan_links
from licensing_core.usage.names import ALL_USERS, PLAN_BITS, explain_target
from licensing_core.usage.pending import pending_intervals
from licensing_core.usage.sqltime import read_time, sql_time


@dataclass(frozen=True)
class ExplainRow:
    """One user behind a number: held (or waited) from ``start`` to ``end``.

    For a plan, ``start``/``end`` are the real grant and release instants (end
    None: still held at the end of the counted span). For a combination or
    ``users`` they are clipped to the period start. For ``pending`` the
    ``detail`` is the request and reason. ``name`` and ``scim_id`` are the
    user as the history recorded them (the last ledger or plan-state row of
    the associate before the span's end), so a user deleted since is still
    named, and never confused with a later user.
    """

    associate_id: int
    name: str
    start: datetime
    end: datetime | None
    detail: str = ""
    scim_id: str | None = None


BATCH = 500


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
            iv.c.since,
            iv.c.t1,
            literal("wants ") + iv.c.requested + literal("; ") + iv.c.reason,
        )
        order = (iv.c.associate_id, iv.c.t0)
    elif kind == "plan":
        links = plan_links(tenant_id, period.start, until, plan=plan_named(target))
        stmt = select(links.c.assoc_id, links.c.granted, links.c.released, literal(""))
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
        stmt = select(c.assoc_id, c.t0, c.t1, literal("")).where(wanted)
        order = (c.assoc_id, c.t0)
    rows = session.execute(stmt.order_by(*order).execution_options(yield_per=5_000))
    for batch in _batches(rows):
        who = recorded_identities(session, tenant_id, {row[0] for row in batch}, until)
        for assoc_id, start, end, detail in batch:
            identity = who.get(assoc_id)
            yield ExplainRow(
                assoc_id,
                identity.user_name if identity else f"#{assoc_id}",
                read_time(start),
                read_time(end) if end is not None else None,
                detail or "",
                identity.scim_id if identity else None,
            )


def _batches(rows: Iterable) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def recorded_identities(
    session: Session, tenant_id: str, associate_ids: Iterable[int], until: datetime
) -> dict[int, Identity]:
    """Each associate as its last ledger row (else plan-state log row) before
    ``until`` recorded it; associates with neither (or recorded before names
    were kept) by their login, when they still exist."""
    ids = sorted(associate_ids)
    found: dict[int, Identity] = {}
    for table, assoc in (
        (LedgerEntry, LedgerEntry.assoc_id),
        (PlanStateLog, PlanStateLog.associate_id),
    ):
        missing = [i for i in ids if i not in found]
        if not missing:
            break
        latest = (
            select(func.max(table.id))
            .where(table.tenant_id == tenant_id, assoc.in_(missing), table.at < sql_time(until))
            .group_by(assoc)
        )
        rows = session.execute(
            select(assoc, table.user_name, table.scim_id).where(
                table.tenant_id == tenant_id, table.id.in_(latest), table.user_name != ""
            )
        )
        found.update({a: Identity(user_name, scim_id) for a, user_name, scim_id in rows})
    missing = [i for i in ids if i not in found]
    if missing:
        found.update(associate_identities(session, tenant_id, missing))
    return found
