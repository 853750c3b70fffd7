"""Billing periods: what a label such as ``2026-10`` or ``2026-Q4`` means for one tenant.

A customer picks a billing period (monthly, quarterly, half-yearly, yearly);
its periods start on the contract start date and follow each other without
gaps (docs/licensing.md §3). A label names a calendar span, and the period it stands
for is the tenant's period of that length that **begins inside the span**:

* ``2026-10`` a month, ``2026-Q4`` a quarter, ``2026-H2`` a half year,
  ``2026`` a year.
* The anchor is the tenant's ``contract_start``. Periods of ``n`` months start
  on the anchor's day of the month, in the months that lie a multiple of ``n``
  months from the anchor's month. For a contract starting 2026-03-15,
  ``2026-10`` is [2026-10-15, 2026-11-15), ``2026-Q4`` is
  [2026-12-15, 2027-03-15) and ``2026`` is [2026-03-15, 2027-03-15).
* An anchor day the month lacks (29-31) falls on that month's last day; the
  next period still starts on the anchor's day where it exists, so periods
  always tile (2026-01-31 monthly: Jan 31, Feb 28, Mar 31, ...).
* Without a ``contract_start`` periods are calendar-aligned (anchor January 1):
  ``2026-10`` is October, ``2026-Q4`` October to December.

Every span of ``n`` calendar months holds exactly one start of an ``n``-month
period, so each label maps to exactly one period. Bounds are naive UTC
midnights; a period is half-open, [start, end).

A tenant's reports use only labels of its own billing period
(:func:`period_for_label`): a month label for a quarterly tenant, or a
quarter for a monthly one, is refused with the labels of the tenant's
periods that overlap the span asked for (docs/tenants.md, "Billing periods").
Labels name years 1900 to 9998.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from licensing_core.errors import LicensingError

MONTHS_PER_BILLING_PERIOD = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}
SPAN_NAMES = {1: "a month", 3: "a quarter", 6: "a half year", 12: "a year"}
FIRST_YEAR, LAST_YEAR = 1900, 9998

_LABEL = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])|H(?P<half>[12])))?$"
)


class InvalidPeriod(LicensingError, ValueError):
    """A period label that is not ``YYYY``, ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY-Hn``,
    one that does not fit the tenant's billing period, an unknown billing
    period or a malformed contract start."""


@dataclass(frozen=True)
class Period:
    """A half-open span [start, end) of naive UTC time, with the label it came from."""

    label: str
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400


def _month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def _start_of(index: int, anchor_day: int) -> datetime:
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return datetime(year, month0 + 1, min(anchor_day, last))


def _label_of(index: int, months: int) -> str:
    year, month0 = divmod(index, 12)
    if months == 1:
        return f"{year:04d}-{month0 + 1:02d}"
    if months == 3:
        return f"{year:04d}-Q{month0 // 3 + 1}"
    if months == 6:
        return f"{year:04d}-H{month0 // 6 + 1}"
    return f"{year:04d}"


def _anchor(contract_start: date | None) -> tuple[int, int]:
    """(month index modulo 12, day of month) periods are aligned to."""
    if contract_start is None:
        return 0, 1
    return contract_start.month - 1, contract_start.day


def _span(label: str) -> tuple[int, int]:
    """(month index of the span's first month, months in it) of a well-formed label."""
    match = _LABEL.match(label.strip())
    if match is None:
        raise InvalidPeriod(
            f"invalid period {label!r}: use YYYY-MM (month), YYYY-Qn (quarter), "
            "YYYY-Hn (half year) or YYYY (year)"
        )
    year = int(match["year"])
    if match["month"]:
        first, months = int(match["month"]), 1
        if not 1 <= first <= 12:
            raise InvalidPeriod(f"invalid period {label!r}: no month {first}")
    elif match["quarter"]:
        first, months = 3 * (int(match["quarter"]) - 1) + 1, 3
    elif match["half"]:
        first, months = 6 * (int(match["half"]) - 1) + 1, 6
    else:
        first, months = 1, 12
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidPeriod(
            f"invalid period {label!r}: the year must be {FIRST_YEAR} to {LAST_YEAR}"
        )
    return _month_index(year, first), months


def parse_period(label: str, contract_start: date | None = None) -> Period:
    """The period ``label`` stands for, for a contract that started on
    ``contract_start``, whatever the tenant's billing period (the label's own
    length decides); reports go through :func:`period_for_label`.

    :raises InvalidPeriod: a malformed label.
    """
    span, months = _span(label)
    anchor_month, anchor_day = _anchor(contract_start)
    start_index = span + (anchor_month - span) % months
    return Period(
        label=_label_of(span, months),
        start=_start_of(start_index, anchor_day),
        end=_start_of(start_index + months, anchor_day),
    )


def months_of(billing_period: str) -> int:
    """The months one ``billing_period`` lasts (``monthly`` 1 ... ``yearly`` 12).

    :raises InvalidPeriod: not one of the four billing periods (docs/licensing.md §3).
    """
    months = MONTHS_PER_BILLING_PERIOD.get(billing_period)
    if months is None:
        raise InvalidPeriod(
            f"unknown billing period {billing_period!r}: use "
            + ", ".join(MONTHS_PER_BILLING_PERIOD)
        )
    return months


def period_for_label(label: str, billing_period: str, contract_start: date | None = None) -> Period:
    """The tenant's billing period that ``label`` names, for a tenant billed
    ``billing_period`` from ``contract_start`` (None: calendar-aligned).

    Only a label as long as the billing period fits (``2026-10`` for monthly,
    ``2026-Q4`` for quarterly, ``2026-H2`` for half-yearly, ``2026`` for
    yearly): a report covers exactly one billing period, never part of one
    nor several.

    :raises InvalidPeriod: a malformed label, an unknown billing period, or a
        label of another length; then the message names the labels (and
        dates) of the tenant's periods that overlap the calendar span the
        label names, e.g. ``2026-Q4`` for ``2026-10`` when billed quarterly.
    """
    months = months_of(billing_period)
    span, span_months = _span(label)
    if span_months == months:
        return parse_period(label, contract_start)
    span_start = _start_of(span, 1)
    span_end = _start_of(span + span_months, 1)
    overlapping = [period_containing(span_start, billing_period, contract_start)]
    while overlapping[-1].end < span_end:
        overlapping.append(period_containing(overlapping[-1].end, billing_period, contract_start))
    named = [f"{p.label} ({p.start:%Y-%m-%d} to {p.end:%Y-%m-%d})" for p in overlapping]
    choice = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
    aligned = f"from {contract_start.isoformat()}" if contract_start else "calendar-aligned"
    raise InvalidPeriod(
        f"period {label.strip()} is {SPAN_NAMES[span_months]}, but billing is "
        f"{billing_period} ({aligned}): use {choice}"
    )


def parse_contract_start(text: str) -> date:
    """A contract start written ``YYYY-MM-DD``, in the years labels can name.

    :raises InvalidPeriod: another shape, a day that does not exist, or a year
        outside 1900-9998.
    """
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidPeriod(f"invalid contract start {text!r}: use YYYY-MM-DD") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidPeriod(
            f"invalid contract start {text!r}: the year must be {FIRST_YEAR} to {LAST_YEAR}"
        )
    return day


def period_containing(
    moment: datetime, billing_period: str, contract_start: date | None = None
) -> Period:
    """The tenant's billing period (of ``billing_period`` length) that contains ``moment``."""
    months = months_of(billing_period)
    anchor_month, anchor_day = _anchor(contract_start)
    index = _month_index(moment.year, moment.month)
    # The start in this month's cycle position, stepped back until it is not after moment.
    start_index = index - (index - anchor_month) % months
    if _start_of(start_index, anchor_day) > moment:
        start_index -= months
    label_span = start_index - start_index % months
    return Period(
        label=_label_of(label_span, months),
        start=_start_of(start_index, anchor_day),
        end=_start_of(start_index + months, anchor_day),
    )


def previous_period(period: Period, billing_period: str, contract_start: date | None) -> Period:
    """The billing period just before ``period``."""
    return period_containing(period.start - timedelta(seconds=1), billing_period, contract_start)


def ended_periods(
    billing_period: str, contract_start: date | None, since: datetime, at: datetime
) -> list[Period]:
    """The billing periods that ended by ``at`` and after ``since`` (the
    tenant's registration: earlier ones held nothing to bill), oldest first."""
    ended = []
    period = previous_period(
        period_containing(at, billing_period, contract_start), billing_period, contract_start
    )
    while period.end > since:
        ended.append(period)
        period = previous_period(period, billing_period, contract_start)
    return ended[::-1]


def days_of(period: Period) -> list[date]:
    """The calendar days (UTC) the period touches, in order."""
    first = period.start.date()
    last = (period.end - timedelta(microseconds=1)).date()
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
