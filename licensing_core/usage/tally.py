"""The figures of a span, tallied in one pass over the ledger's plan rows in time order.

Per plan, per combination and for all plan holders: the count at the end,
the peak at any instant, the end-of-day counts (hence the end-of-day peak),
the time held (hence the time-weighted average) and the distinct users.
What was held at the span's start is summed in SQL; then the span's counted
rows are streamed in ledger order (the ``(tenant_id, at, ledger_id)``
index), keeping one small entry per associate that holds a plan: memory does
not grow with the ledger.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from licensing_core.tables import GRANT, LedgerEntry
from licensing_core.usage.intervals import counted
from licensing_core.usage.model import Usage
from licensing_core.usage.names import PLAN_BITS, PLAN_OF_BIT
from licensing_core.usage.sqltime import sql_time

# The kinds of figures: keys of tally_span's result are (kind, key), key being
# the plan bit, the combination bits, or 0 for all plan holders.
PLAN, COMBINATION, ALL = 0, 1, 2


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
_BITS_OF = [tuple(bit for bit in PLAN_OF_BIT if mask & bit) for mask in range(64)]
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
                figures[(ALL, 0)] = raw
            elif key > _COMBINED:
                figures[(COMBINATION, key - _COMBINED)] = raw
            else:
                figures[(PLAN, key)] = raw
        return figures


def _held_at_start(session: Session, tenant_id: str, start: datetime) -> dict[tuple[int, str], int]:
    """(associate, plan module) -> links held just before ``start``, summed in SQL."""
    ledger = LedgerEntry
    net = func.sum(case((ledger.event == GRANT, 1), else_=-1))
    rows = session.connection().execute(
        select(ledger.assoc_id, ledger.module_name, net)
        .where(ledger.tenant_id == tenant_id, ledger.at < sql_time(start), *counted())
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
            ledger.at >= sql_time(start),
            ledger.at < sql_time(until),
            *counted(),
        )
        .order_by(ledger.at, ledger.id)
        .execution_options(yield_per=20_000)
    )


def tally_span(
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


def usage_of(name: str, raw: _Raw | None, days: list[date], span_days: float, **seats) -> Usage:
    """The figures of ``name`` over ``days`` from its tally (None: not held in the span)."""
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


def plans_held_at(session: Session, tenant_id: str, at: datetime) -> dict[str, int]:
    """Plan licenses held at the instant ``at`` (after every ledger row stamped ``at``)."""
    raw = tally_span(session, tenant_id, at, at + timedelta(microseconds=1))
    return {
        plan.name: raw[(PLAN, bit)].at_end if (PLAN, bit) in raw else 0
        for bit, plan in PLAN_OF_BIT.items()
    }
