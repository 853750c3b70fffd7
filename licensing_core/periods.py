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
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from licensing_core.errors import LicensingError

MONTHS_PER_BILLING_PERIOD = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}

_LABEL = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])|H(?P<half>[12])))?$"
)


class InvalidPeriod(LicensingError):
    """A period label that is not ``YYYY``, ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY-Hn``."""


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


def parse_period(label: str, contract_start: date | None = None) -> Period:
    """The period ``label`` stands for, for a contract that started on ``contract_start``."""
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
    if not 1 <= year <= 9998:
        raise InvalidPeriod(f"invalid period {label!r}: year out of range")
    anchor_month, anchor_day = _anchor(contract_start)
    span = _month_index(year, first)
    start_index = span + (anchor_month - span) % months
    return Period(
        label=_label_of(span, months),
        start=_start_of(start_index, anchor_day),
        end=_start_of(start_index + months, anchor_day),
    )


def period_containing(
    moment: datetime, billing_period: str, contract_start: date | None = None
) -> Period:
    """The tenant's billing period (of ``billing_period`` length) that contains ``moment``."""
    months = MONTHS_PER_BILLING_PERIOD[billing_period]
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


def days_of(period: Period) -> list[date]:
    """The calendar days (UTC) the period touches, in order."""
    first = period.start.date()
    last = (period.end - timedelta(microseconds=1)).date()
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
