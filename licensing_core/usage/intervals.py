"""The spans over which plans were held, from the license ledger, as SQL.

Which ledger rows count (plan links with licenseNumber > 0), and, with window
functions, the interval each plan link was held (``lead`` pairs a link's
grant with its release) and the intervals over which a user held one
combination of plans. The queries are streamed by their callers and run on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, union_all

from licensing_core.plans import Plan
from licensing_core.tables import GRANT, LedgerEntry
from licensing_core.usage.names import PLAN_BITS
from licensing_core.usage.sqltime import sql_time


def counted():
    """The ledger rows counted: plan links with licenseNumber > 0."""
    return (
        LedgerEntry.is_plan.is_(True),
        LedgerEntry.module_name.in_(list(PLAN_BITS)),
        LedgerEntry.license_number > 0,
    )


def plan_links(tenant_id: str, start: datetime, until: datetime, *, plan: Plan | None = None):
    """(assoc_id, module_name, granted, released) for each plan link held in the span:
    of every plan, or only of ``plan``.

    ``granted`` and ``released`` are the real instants; ``released`` is None
    when the link is still held at ``until``.
    """
    ledger = LedgerEntry
    rows = counted() if plan is None else (*counted(), ledger.module_name == plan.module_name)
    events = (
        select(
            ledger.assoc_id,
            ledger.module_license_id,
            ledger.module_name,
            ledger.event,
            ledger.at,
            ledger.id.label("ledger_id"),
        )
        .where(ledger.tenant_id == tenant_id, ledger.at < sql_time(until), *rows)
        .cte("plan_events")
    )
    # A link's grant is followed by its release (or nothing, while held).
    release = func.lead(events.c.at).over(
        partition_by=(events.c.module_license_id, events.c.assoc_id),
        order_by=(events.c.at, events.c.ledger_id),
    )
    links = select(
        events.c.assoc_id,
        events.c.module_name,
        events.c.event,
        events.c.at.label("granted"),
        release.label("released"),
    ).cte("plan_links")
    start_at = sql_time(start)
    return (
        select(links.c.assoc_id, links.c.module_name, links.c.granted, links.c.released)
        .where(
            links.c.event == GRANT,
            or_(
                links.c.released.is_(None),
                and_(links.c.released > start_at, links.c.released > links.c.granted),
            ),
        )
        .cte("held_links")
    )


def plan_intervals(tenant_id: str, start: datetime, until: datetime):
    """(key=plan bit, assoc_id, t0, t1) for each plan link held in the span.

    ``t0`` is the grant clipped to ``start``; ``t1`` the release, None when the
    link is still held at ``until``.
    """
    links = plan_links(tenant_id, start, until)
    start_at = sql_time(start)
    return select(
        case(PLAN_BITS, value=links.c.module_name, else_=0).label("key"),
        links.c.assoc_id,
        case((links.c.granted < start_at, start_at), else_=links.c.granted).label("t0"),
        links.c.released.label("t1"),
    ).cte("plan_intervals")


def combination_intervals(plans):
    """(assoc_id, t0, mask=combination bits, t1) for each span a user held one combination.

    ``plans`` are :func:`plan_intervals`.
    """
    pi = plans.c
    changes = union_all(
        select(pi.assoc_id, pi.t0.label("t"), pi.key.label("d")),
        select(pi.assoc_id, pi.t1, -pi.key).where(pi.t1.is_not(None)),
    ).subquery("combination_changes")
    per_instant = (
        select(changes.c.assoc_id, changes.c.t, func.sum(changes.c.d).label("d"))
        .group_by(changes.c.assoc_id, changes.c.t)
        .subquery("combination_steps")
    )
    window = {"partition_by": per_instant.c.assoc_id, "order_by": per_instant.c.t}
    return select(
        per_instant.c.assoc_id,
        per_instant.c.t.label("t0"),
        func.sum(per_instant.c.d).over(**window).label("mask"),
        func.lead(per_instant.c.t).over(**window).label("t1"),
    ).cte("combination_intervals")
