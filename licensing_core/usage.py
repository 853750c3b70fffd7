"""Usage counting reports for pay-per-use billing, derived from the license ledger only.

Every figure of who held which plan comes from ``license_ledger`` (and who
waited for seats from ``plan_state_log``); both are append-only, so a report
over a past period gives the same numbers whenever it is run. The current
``licenseassoclink`` rows are never read.

What is counted (docs/licensing.md §3, approach 2):

* Plan links (``is_plan``, a base plan's module) with ``licenseNumber`` > 0.
  Grants and releases with ``licenseNumber`` 0 are ignored.
* Retired users are not counted: retiring a user writes release rows for all
  it held, so from that instant on it holds nothing. Nothing is looked up in
  ``associate`` (a later retirement must not rewrite an earlier period).
* A link is held over the half-open span [grant, release). An instant's count
  is taken after every ledger row stamped with that instant, so a transaction
  that releases and grants at once never shows as a spike.

Figures, per plan, per combination (the set of plans one user holds at once,
multi-plan users included) and for all plan holders together, over the
counted span [period start, min(period end, as_of)):

* ``in_use_at_end``: held at the end of the counted span (after every row
  stamped before it).
* ``peak``: the largest count at any instant.
* ``peak_day``: the largest end-of-day count (UTC days; for a day cut short by
  ``as_of``, the count at ``as_of``); ``peak_day_date`` is the first such day.
* ``average``: the time-weighted mean count, ``plan_days`` / length of the
  counted span in days, where ``plan_days`` is the total time the plan was
  held, in days (one user holding a plan for 12 hours adds 0.5).
* ``users``: distinct associates that held it for some time in the span.
* ``bought``: the seats of the license set installed when the report runs
  (approach 1 for ``user``/``web``; the plan's ``licenseNumber``). The ledger
  keeps no history of license sets, so this one column can change when a new
  set is imported.

**Billable figure**: for each plan, ``peak_day``, i.e. the most licenses of
that plan held by active users at the close of any day of the period; the
tenant's billable total is their sum. Why this one: period-end counts can be
lowered by removing users just before the period closes; the instant peak
bills a whole period for a transient overlap (a user moved between two groups
by two IdP requests); the mean bills fractions of users and is hard to explain
user by user. The end-of-day peak is what was really in use, cannot be gamed
without removing users every evening, and ``--explain`` lists the users on
that day.

Users pending for lack of seats are read from ``plan_state_log``: those
pending at the end of the counted span (with what they asked for and why they
wait) and the number that waited at some time in it.

The figures come from one pass over the tenant's plan rows of the ledger in
time order (the ``(tenant_id, at, ledger_id)`` index, streamed), keeping one
small entry per associate that holds a plan: memory does not grow with the
ledger. Explanations are SQL window functions (``lead`` over each link's
rows), streamed as well; both run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from licensing_core.counting import LOGIN_MODULES
from licensing_core.errors import InvalidCombination, UnknownTenant
from licensing_core.periods import Period, days_of, parse_period
from licensing_core.plans import ALL_COMBINATIONS, BASE_PLANS, Combination, Plan, plan_named
from licensing_core.tables import (
    GRANT,
    PENDING,
    USER_PLAN_FLAG,
    Associate,
    LedgerEntry,
    ModuleLicense,
    PlanStateLog,
    Tenant,
)

# One bit per base plan: a user's combination at an instant is the sum of the
# bits of the plans it holds (it holds each plan at most once).
PLAN_BITS: dict[str, int] = {plan.module_name: 1 << i for i, plan in enumerate(BASE_PLANS)}
_PLAN_OF_BIT: dict[int, Plan] = {1 << i: plan for i, plan in enumerate(BASE_PLANS)}

_PLAN, _COMBINATION, _ALL = 0, 1, 2
PENDING_LISTED = 50
ALL_USERS = "users"
PENDING_USERS = "pending"

BILLABLE_RULE = (
    "per plan, the most licenses held by active users at the close of any day (UTC) "
    "of the period; total = sum over plans"
)


@dataclass(frozen=True)
class Usage:
    """The figures of one plan, one combination, or all plan holders (see module doc)."""

    name: str
    in_use_at_end: int = 0
    peak: int = 0
    peak_day: int = 0
    peak_day_date: date | None = None
    average: float = 0.0
    plan_days: float = 0.0
    users: int = 0
    bought: int | None = None
    unrestricted: bool = False
    daily: tuple[int, ...] = ()

    def to_json(self, *, with_daily: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.bought is not None:
            data["bought"] = self.bought
            data["unrestricted"] = self.unrestricted
        data.update(
            in_use_at_end=self.in_use_at_end,
            peak=self.peak,
            peak_day=self.peak_day,
            peak_day_date=self.peak_day_date.isoformat() if self.peak_day_date else None,
            average=round(self.average, 4),
            plan_days=round(self.plan_days, 4),
            users=self.users,
        )
        if with_daily:
            data["daily"] = list(self.daily)
        return data


@dataclass(frozen=True)
class LoginSeats:
    """Approach 1: a ``user`` or ``web`` license, bought (an upper bound only)."""

    module_name: str
    bought: int
    unrestricted: bool


@dataclass(frozen=True)
class PendingUser:
    """An associate waiting for seats at the end of the counted span."""

    associate_id: int
    name: str
    requested: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class Pending:
    at_end: int = 0
    during: int = 0
    by_request: dict[str, int] = field(default_factory=dict)
    users: tuple[PendingUser, ...] = ()


@dataclass(frozen=True)
class UsageReport:
    """One tenant's usage over one period; ``to_json`` is what the CLI and API print."""

    tenant_id: str
    tenant_name: str
    billing_period: str
    contract_start: date | None
    period: Period
    counted_until: datetime
    login: tuple[LoginSeats, ...]
    plans: tuple[Usage, ...]
    combinations: tuple[Usage, ...]
    all_users: Usage
    pending: Pending

    @property
    def complete(self) -> bool:
        """The period is over: its numbers will never change."""
        return self.counted_until >= self.period.end

    @property
    def billable(self) -> int:
        return sum(plan.peak_day for plan in self.plans)

    @property
    def days(self) -> list[date]:
        return days_of(Period(self.period.label, self.period.start, self.counted_until))

    def usage(self, name: str) -> Usage:
        """The figures of a plan, a combination (``A + B``) or ``users``.

        A single plan's name gives the plan (all its holders), not the
        combination of users holding that plan only.
        """
        if name.strip().casefold() == ALL_USERS:
            return self.all_users
        wanted = explain_target(name)
        for usage in (*self.plans, *self.combinations):
            if usage.name == wanted[1]:
                return usage
        return Usage(wanted[1])

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "tenant_name": self.tenant_name,
            "billing_period": self.billing_period,
            "contract_start": self.contract_start.isoformat() if self.contract_start else None,
            "period": {
                "label": self.period.label,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "counted_until": self.counted_until.isoformat(),
                "complete": self.complete,
                "days": [day.isoformat() for day in self.days],
            },
            "billable": {
                "rule": BILLABLE_RULE,
                "plan_licenses": self.billable,
                "per_plan": {plan.name: plan.peak_day for plan in self.plans},
            },
            "login_licenses": [
                {"module": s.module_name, "bought": s.bought, "unrestricted": s.unrestricted}
                for s in self.login
            ],
            "plans": [plan.to_json() for plan in self.plans],
            "combinations": [c.to_json(with_daily=False) for c in self.combinations],
            "users": self.all_users.to_json(),
            "pending": {
                "at_end": self.pending.at_end,
                "during": self.pending.during,
                "by_request": self.pending.by_request,
                "listed": [
                    {
                        "associate_id": p.associate_id,
                        "name": p.name,
                        "requested": p.requested,
                        "reason": p.reason,
                        "since": p.since.isoformat(),
                    }
                    for p in self.pending.users
                ],
            },
        }


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


# --------------------------------------------------------------------------- periods


def tenant_period(session: Session, tenant_id: str, label: str) -> Period:
    """The period ``label`` stands for, aligned to the tenant's contract start."""
    tenant = _tenant(session, tenant_id)
    return parse_period(label, tenant.contract_start)


def _tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    return tenant


# --------------------------------------------------------------------------- SQL


def _at(value: datetime):
    return literal(value, DateTime)


def _plan_intervals(tenant_id: str, start: datetime, until: datetime):
    """(kind, key=plan bit, assoc_id, t0, t1) for each plan link held in the span.

    ``t0`` is the grant clipped to ``start``; ``t1`` the release, None when the
    link is still held at ``until``.
    """
    ledger = LedgerEntry
    events = (
        select(
            ledger.assoc_id,
            ledger.module_license_id,
            case(PLAN_BITS, value=ledger.module_name, else_=0).label("bit"),
            ledger.event,
            ledger.at,
            ledger.id.label("ledger_id"),
        )
        .where(
            ledger.tenant_id == tenant_id,
            ledger.at < _at(until),
            ledger.is_plan.is_(True),
            ledger.module_name.in_(list(PLAN_BITS)),
            ledger.license_number > 0,
        )
        .cte("plan_events")
    )
    # A link's grant is followed by its release (or nothing, while held).
    release = func.lead(events.c.at).over(
        partition_by=(events.c.module_license_id, events.c.assoc_id),
        order_by=(events.c.at, events.c.ledger_id),
    )
    links = select(
        events.c.assoc_id,
        events.c.bit,
        events.c.event,
        events.c.at.label("granted"),
        release.label("released"),
    ).cte("plan_links")
    start_at = _at(start)
    return (
        select(
            literal(_PLAN).label("kind"),
            links.c.bit.label("key"),
            links.c.assoc_id,
            case((links.c.granted < start_at, start_at), else_=links.c.granted).label("t0"),
            links.c.released.label("t1"),
        )
        .where(
            links.c.event == GRANT,
            or_(
                links.c.released.is_(None),
                and_(links.c.released > start_at, links.c.released > links.c.granted),
            ),
        )
        .cte("plan_intervals")
    )


def _combination_intervals(plan_intervals):
    """(key=combination bits, assoc_id, t0, t1) for each span a user held one combination."""
    pi = plan_intervals.c
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


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# --------------------------------------------------------------------------- report


def combination_name(mask: int) -> str:
    plans = [plan for bit, plan in _PLAN_OF_BIT.items() if mask & bit]
    try:
        return Combination.of(plans).name
    except InvalidCombination:  # cannot be assigned, but name what the ledger says
        return " + ".join(p.name for p in sorted(plans, key=lambda p: p.sort_key))


class _Raw:
    """Running figures of one (kind, key): see :class:`_Tally`."""

    __slots__ = ("at_end", "count", "day_deltas", "peak", "seconds", "since", "users")

    def __init__(self) -> None:
        self.count = 0
        self.since: datetime | None = None
        self.seconds = 0.0
        self.peak = 0
        self.users = 0
        self.at_end = 0
        self.day_deltas: dict[date, int] = {}


# The plan bits of each combination mask, for the transitions below.
_BITS_OF = [tuple(bit for bit in _PLAN_OF_BIT if mask & bit) for mask in range(64)]
# Keys of the tally: a plan's bit (1..32), 64 + a combination's bits, or _ANY.
_COMBINED = 64
_ANY = 128


class _Tally:
    """Counts per key along time: current count, peak, time held, per-day changes.

    Fed only with whole-instant transitions of one associate (old plan bits ->
    new plan bits), so a plan released and granted again by one transaction
    never shows, and a link granted and released at the same instant counts
    for nothing.
    """

    def __init__(self) -> None:
        self.raw: dict[int, _Raw] = {}
        self._touched: set[_Raw] = set()
        # Per associate: plan bits held at some time in the span, and a bitset
        # over the combinations (bit 0: "any plan") held at some time.
        self._seen_plans: dict[int, int] = {}
        self._seen_masks: dict[int, int] = {}

    def _move(self, key: int, at: datetime, day: date, delta: int) -> _Raw:
        raw = self.raw.get(key)
        if raw is None:
            raw = self.raw[key] = _Raw()
        if raw.count:
            raw.seconds += raw.count * (at - raw.since).total_seconds()
        raw.since = at
        raw.count += delta
        raw.day_deltas[day] = raw.day_deltas.get(day, 0) + delta
        self._touched.add(raw)
        return raw

    def change(self, at: datetime, assoc_id: int, old: int, new: int) -> None:
        day = at.date()
        move = self._move
        seen = self._seen_plans.get(assoc_id, 0)
        for bit in _BITS_OF[old & ~new]:
            move(bit, at, day, -1)
        for bit in _BITS_OF[new & ~old]:
            raw = move(bit, at, day, 1)
            if not seen & bit:
                raw.users += 1
        if new & ~seen:
            self._seen_plans[assoc_id] = seen | new
        if old:
            move(_COMBINED + old, at, day, -1)
            if not new:
                move(_ANY, at, day, -1)
        if new:
            masks = self._seen_masks.get(assoc_id, 0)
            raw = move(_COMBINED + new, at, day, 1)
            if not masks >> new & 1:
                raw.users += 1
            if not old:
                raw = move(_ANY, at, day, 1)
                if not masks & 1:
                    raw.users += 1
            self._seen_masks[assoc_id] = masks | 1 | (1 << new)

    def instant_done(self) -> None:
        for raw in self._touched:
            if raw.count > raw.peak:
                raw.peak = raw.count
        self._touched.clear()

    def close(self, until: datetime) -> dict[tuple[int, int], _Raw]:
        figures = {}
        for key, raw in self.raw.items():
            if raw.count:
                raw.seconds += raw.count * (until - raw.since).total_seconds()
            raw.at_end = raw.count
            if key == _ANY:
                figures[(_ALL, 0)] = raw
            elif key > _COMBINED:
                figures[(_COMBINATION, key - _COMBINED)] = raw
            else:
                figures[(_PLAN, key)] = raw
        return figures


def _counted(ledger=LedgerEntry):
    """The ledger rows counted: plan links with licenseNumber > 0."""
    return (
        ledger.is_plan.is_(True),
        ledger.module_name.in_(list(PLAN_BITS)),
        ledger.license_number > 0,
    )


def _held_at_start(session: Session, tenant_id: str, start: datetime) -> dict[tuple[int, str], int]:
    """(associate, plan module) -> links held just before ``start``, summed in SQL."""
    ledger = LedgerEntry
    net = func.sum(case((ledger.event == GRANT, 1), else_=-1))
    rows = session.connection().execute(
        select(ledger.assoc_id, ledger.module_name, net)
        .where(ledger.tenant_id == tenant_id, ledger.at < _at(start), *_counted())
        .group_by(ledger.assoc_id, ledger.module_name)
        .having(net > 0)
    )
    return {(assoc_id, name): int(n) for assoc_id, name, n in rows}


def _plan_events(session: Session, tenant_id: str, start: datetime, until: datetime):
    """The counted plan ledger rows in [start, until), in ledger order, streamed."""
    ledger = LedgerEntry
    return session.connection().execute(
        select(ledger.at, ledger.assoc_id, ledger.module_name, ledger.event)
        .where(
            ledger.tenant_id == tenant_id,
            ledger.at >= _at(start),
            ledger.at < _at(until),
            *_counted(),
        )
        .order_by(ledger.at, ledger.id)
        .execution_options(yield_per=20_000)
    )


def _figures(
    session: Session, tenant_id: str, start: datetime, until: datetime
) -> dict[tuple[int, int], _Raw]:
    """Tally the span [start, until): what was held at ``start`` (summed in SQL), then
    one pass over the span's plan rows in time order.

    Memory holds one small entry per associate holding a plan, never the rows.
    """
    if until <= start:
        return {}
    tally = _Tally()
    held: dict[int, int] = {}  # associate -> plan bits held now
    doubled: dict[tuple[int, int], int] = {}  # a plan held through a second link (rare)
    for (assoc_id, module_name), links in _held_at_start(session, tenant_id, start).items():
        bit = PLAN_BITS[module_name]
        held[assoc_id] = held.get(assoc_id, 0) | bit
        if links > 1:
            doubled[(assoc_id, bit)] = links - 1
    for assoc_id, bits in held.items():
        tally.change(start, assoc_id, 0, bits)
    tally.instant_done()

    before: dict[int, int] = {}  # associates changed in this instant -> bits before it
    instant: datetime | None = None
    for at, assoc_id, module_name, event in _plan_events(session, tenant_id, start, until):
        if at != instant:
            for changed, old in before.items():
                new = held.get(changed, 0)
                if new != old:
                    tally.change(instant, changed, old, new)
            before.clear()
            tally.instant_done()
            instant = at
        bits = held.get(assoc_id, 0)
        if assoc_id not in before:
            before[assoc_id] = bits
        bit = PLAN_BITS[module_name]
        if event == GRANT:
            if bits & bit:
                doubled[(assoc_id, bit)] = doubled.get((assoc_id, bit), 0) + 1
            bits |= bit
        elif doubled.get((assoc_id, bit)):
            doubled[(assoc_id, bit)] -= 1
        else:
            bits &= ~bit
        if bits:
            held[assoc_id] = bits
        else:
            held.pop(assoc_id, None)
    for changed, old in before.items():
        new = held.get(changed, 0)
        if new != old:
            tally.change(instant, changed, old, new)
    tally.instant_done()
    return tally.close(until)


def _usage(name: str, raw: _Raw | None, days: list[date], span_days: float, **seats) -> Usage:
    if raw is None:
        return Usage(name, daily=(0,) * len(days), **seats)
    daily, count = [], 0
    for day in days:
        count += raw.day_deltas.get(day, 0)
        daily.append(count)
    peak_day = max(daily, default=0)
    return Usage(
        name,
        in_use_at_end=raw.at_end,
        peak=raw.peak,
        peak_day=peak_day,
        peak_day_date=days[daily.index(peak_day)] if peak_day else None,
        average=raw.seconds / 86_400 / span_days if span_days else 0.0,
        plan_days=raw.seconds / 86_400,
        users=raw.users,
        daily=tuple(daily),
        **seats,
    )


_COMBINATION_ORDER = {c.name: i for i, c in enumerate(ALL_COMBINATIONS)}


def usage_report(
    session: Session, tenant_id: str, period: Period | str, *, as_of: datetime
) -> UsageReport:
    """The tenant's usage over ``period`` (a Period or a label), counted up to ``as_of``."""
    tenant = _tenant(session, tenant_id)
    if isinstance(period, str):
        period = parse_period(period, tenant.contract_start)
    until = max(period.start, min(period.end, as_of))
    counted = Period(period.label, period.start, until)
    days = days_of(counted) if until > period.start else []
    raw = _figures(session, tenant_id, period.start, until)
    seats = _plan_seats(session, tenant_id)
    plans = tuple(
        _usage(
            plan.name,
            raw.get((_PLAN, bit)),
            days,
            counted.days,
            bought=seats.get(plan.module_name, (0, False))[0],
            unrestricted=seats.get(plan.module_name, (0, False))[1],
        )
        for bit, plan in _PLAN_OF_BIT.items()
    )
    combinations = sorted(
        (
            _usage(combination_name(key), figures, days, counted.days)
            for (kind, key), figures in raw.items()
            if kind == _COMBINATION
        ),
        key=lambda usage: (_COMBINATION_ORDER.get(usage.name, len(_COMBINATION_ORDER)), usage.name),
    )
    return UsageReport(
        tenant_id=tenant_id,
        tenant_name=tenant.name,
        billing_period=tenant.billing_period,
        contract_start=tenant.contract_start,
        period=period,
        counted_until=until,
        login=_login_seats(session, tenant_id),
        plans=plans,
        combinations=tuple(combinations),
        all_users=_usage(ALL_USERS, raw.get((_ALL, 0)), days, counted.days),
        pending=_pending(session, tenant_id, period.start, until),
    )


def plans_held_at(session: Session, tenant_id: str, at: datetime) -> dict[str, int]:
    """Plan licenses held at the instant ``at`` (after every ledger row stamped ``at``)."""
    moment = Period("instant", at, at + timedelta(microseconds=1))
    raw = _figures(session, tenant_id, moment.start, moment.end)
    return {
        plan.name: raw[(_PLAN, bit)].at_end if (_PLAN, bit) in raw else 0
        for bit, plan in _PLAN_OF_BIT.items()
    }


def _plan_seats(session: Session, tenant_id: str) -> dict[str, tuple[int, bool]]:
    rows = session.execute(
        select(
            ModuleLicense.module_name,
            func.sum(ModuleLicense.license_number),
            func.max(case((ModuleLicense.unrestricted, 1), else_=0)),
        )
        .where(
            ModuleLicense.tenant_id == tenant_id,
            ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
        )
        .group_by(ModuleLicense.module_name)
    )
    return {name: (int(bought), bool(unrestricted)) for name, bought, unrestricted in rows}


def _login_seats(session: Session, tenant_id: str) -> tuple[LoginSeats, ...]:
    rows = session.execute(
        select(ModuleLicense.module_name, ModuleLicense.license_number, ModuleLicense.unrestricted)
        .where(
            ModuleLicense.tenant_id == tenant_id,
            ModuleLicense.module_name.in_(LOGIN_MODULES),
        )
        .order_by(ModuleLicense.sort_order, ModuleLicense.id)
    )
    return tuple(LoginSeats(*row) for row in rows)


# --------------------------------------------------------------------------- pending


def _pending_intervals(tenant_id: str, start: datetime, until: datetime):
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
        .where(log.tenant_id == tenant_id, log.at < _at(until))
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
    start_at = _at(start)
    return (
        select(r.associate_id, r.at.label("t0"), r.t1, r.requested, r.reason, r.since)
        .where(
            r.state == PENDING,
            or_(r.t1.is_(None), and_(r.t1 > start_at, r.t1 > r.at)),
        )
        .cte("pending_intervals")
    )


def _pending(session: Session, tenant_id: str, start: datetime, until: datetime) -> Pending:
    if until <= start:
        return Pending()
    iv = _pending_intervals(tenant_id, start, until)
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
            PendingUser(assoc_id, name or f"#{assoc_id}", requested, reason, _as_datetime(since))
            for assoc_id, name, requested, reason, since in listed
        ),
    )


# --------------------------------------------------------------------------- explain


def explain_target(name: str) -> tuple[str, str]:
    """What ``--explain NAME`` asks for: ("plan" | "combination" | "users" | "pending", name).

    A name with ``+`` is a combination; ``users`` is every plan holder;
    ``pending`` the users waiting for seats; anything else must be a plan.
    """
    text = name.strip()
    if text.casefold() in (ALL_USERS, PENDING_USERS):
        return text.casefold(), text.casefold()
    if "+" in text:
        return "combination", Combination.parse(text).name
    return "plan", plan_named(text).name


def explain(
    session: Session, tenant_id: str, period: Period, name: str, *, as_of: datetime
) -> Iterator[ExplainRow]:
    """The users behind the figures of ``name`` over ``period``, streamed in associate order.

    Raises InvalidCombination for an unknown plan or combination.
    """
    kind, target = explain_target(name)
    _tenant(session, tenant_id)
    until = max(period.start, min(period.end, as_of))
    if until <= period.start:
        return
    if kind == "pending":
        iv = _pending_intervals(tenant_id, period.start, until)
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
        stmt, order = _explain_plan(tenant_id, period.start, until, target)
    else:
        plans = _plan_intervals(tenant_id, period.start, until)
        combos = _combination_intervals(plans)
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
            _as_datetime(start),
            _as_datetime(end) if end is not None else None,
            detail or "",
        )


def _explain_plan(tenant_id: str, start: datetime, until: datetime, plan_name: str):
    ledger = LedgerEntry
    module = plan_named(plan_name).module_name
    events = (
        select(
            ledger.assoc_id,
            ledger.module_license_id,
            ledger.event,
            ledger.at,
            ledger.id.label("ledger_id"),
        )
        .where(
            ledger.tenant_id == tenant_id,
            ledger.at < _at(until),
            ledger.is_plan.is_(True),
            ledger.module_name == module,
            ledger.license_number > 0,
        )
        .cte("explained_events")
    )
    release = func.lead(events.c.at).over(
        partition_by=(events.c.module_license_id, events.c.assoc_id),
        order_by=(events.c.at, events.c.ledger_id),
    )
    links = select(events.c.assoc_id, events.c.event, events.c.at, release.label("released")).cte(
        "explained_links"
    )
    start_at = _at(start)
    stmt = (
        select(links.c.assoc_id, Associate.name, links.c.at, links.c.released, literal(""))
        .outerjoin(
            Associate, and_(Associate.tenant_id == tenant_id, Associate.id == links.c.assoc_id)
        )
        .where(
            links.c.event == GRANT,
            or_(
                links.c.released.is_(None),
                and_(links.c.released > start_at, links.c.released > links.c.at),
            ),
        )
    )
    return stmt, (links.c.assoc_id, links.c.at)
