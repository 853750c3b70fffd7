"""Users pending for lack of seats, from ``plan_state_log``.

Those pending at the end of the counted span (with what they asked for and
why they wait) and the number that waited at some time in it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from licensing_core.tables import PENDING, Associate, PlanStateLog
from licensing_core.usage.model import Pending, PendingUser
from licensing_core.usage.sqltime import read_time, sql_time

PENDING_LISTED = 50


def pending_intervals(tenant_id: str, start: datetime, until: datetime):
    """(assoc_id, t0, t1, requested, reason, since) for each logged pending state in the span."""
    log = PlanStateLog
    window = {"partition_by": log.associate_id, "order_by": (log.at, log.id)}
    steps = (
        select(
            log.associate_id,
            log.id,
            log.at,
            log.state,
            log.requested,
            log.reason,
            func.lead(log.at).over(**window).label("t1"),
            func.lag(log.state).over(**window).label("before"),
        )
        .where(log.tenant_id == tenant_id, log.at < sql_time(until))
        .cte("state_steps")
    )
    s = steps.c
    # A run of pending rows (the request or reason may change while waiting)
    # started at its first row: carry that instant forward.
    run_start = case((and_(s.state == PENDING, or_(s.before.is_(None), s.before != PENDING)), s.at))
    runs = select(
        s.associate_id,
        s.at,
        s.state,
        s.requested,
        s.reason,
        s.t1,
        func.max(run_start).over(partition_by=s.associate_id, order_by=(s.at, s.id)).label("since"),
    ).cte("state_runs")
    r = runs.c
    start_at = sql_time(start)
    return (
        select(r.associate_id, r.at.label("t0"), r.t1, r.requested, r.reason, r.since)
        .where(
            r.state == PENDING,
            or_(r.t1.is_(None), and_(r.t1 > start_at, r.t1 > r.at)),
        )
        .cte("pending_intervals")
    )


def pending_users(session: Session, tenant_id: str, start: datetime, until: datetime) -> Pending:
    """Who waits at ``until`` (the first ``PENDING_LISTED``, longest waiting first), how many
    per request, and how many waited at some time in [start, until)."""
    if until <= start:
        return Pending()
    iv = pending_intervals(tenant_id, start, until)
    during, at_end = session.execute(
        select(
            func.count(iv.c.associate_id.distinct()),
            func.coalesce(func.sum(case((iv.c.t1.is_(None), 1), else_=0)), 0),
        )
    ).one()
    by_request = dict(
        session.execute(
            select(iv.c.requested, func.count())
            .where(iv.c.t1.is_(None))
            .group_by(iv.c.requested)
            .order_by(iv.c.requested)
        ).all()
    )
    listed = session.execute(
        select(iv.c.associate_id, Associate.name, iv.c.requested, iv.c.reason, iv.c.since)
        .outerjoin(
            Associate,
            and_(Associate.tenant_id == tenant_id, Associate.id == iv.c.associate_id),
        )
        .where(iv.c.t1.is_(None))
        .order_by(iv.c.since, iv.c.associate_id)
        .limit(PENDING_LISTED)
    )
    return Pending(
        at_end=int(at_end),
        during=int(during),
        by_request=by_request,
        users=tuple(
            PendingUser(assoc_id, name or f"#{assoc_id}", requested, reason, read_time(since))
            for assoc_id, name, requested, reason, since in listed
        ),
    )
