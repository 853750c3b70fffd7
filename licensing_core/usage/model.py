"""The report's data: the figures of a plan, a combination or all plan holders, the
seats bought, the users pending, and the JSON the CLI and the API print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from licensing_core.license_history import SetVersion
from licensing_core.periods import Period, days_of
from licensing_core.usage.names import ALL_USERS, explain_target

BILLABLE_RULE = (
    "per plan, the most licenses held by active users at the close of any day (UTC) "
    "of the period; total = sum over plans"
)


@dataclass(frozen=True)
class Usage:
    """The figures of one plan, one combination, or all plan holders (see package doc)."""

    name: str
    in_use_at_end: int = 0
    peak: int = 0
    peak_day: int = 0
    peak_day_date: date | None = None
    average: float = 0.0
    plan_days: float = 0.0
    users: int = 0
    # Seats of the license set in force at the end of the counted span (None:
    # not a plan) and the most in force at any moment of it (None: unrestricted
    # at some moment); see licensing_core.license_history.
    bought: int | None = None
    unrestricted: bool = False
    bought_most: int | None = None
    daily: tuple[int, ...] = ()

    def to_json(self, *, with_daily: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.bought is not None:
            data["bought"] = self.bought
            data["unrestricted"] = self.unrestricted
            data["bought_most"] = self.bought_most
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
    """Approach 1: a ``user`` or ``web`` license, bought (an upper bound only), at
    the end of the counted span."""

    module_name: str
    bought: int
    unrestricted: bool


# What a report covers (UsageReport.status).
COMPLETE = "complete"
IN_PROGRESS = "in progress"
FUTURE = "future"
BEFORE_TENANT = "before the tenant existed"


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
    """Users waiting for seats: at the end of the counted span, and at some time in it."""

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
    # When the tenant was registered, the license sets in force during the
    # counted span (oldest first), and the problems of the set installed now
    # when it fails verification (its rows stopped working).
    tenant_registered: datetime | None = None
    license_sets: tuple[SetVersion, ...] = ()
    license_problems: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """:data:`COMPLETE` (over: its numbers never change), :data:`IN_PROGRESS`
        (counted until now), :data:`FUTURE` (nothing to count yet) or
        :data:`BEFORE_TENANT` (over before the tenant was registered)."""
        if self.counted_until <= self.period.start:
            return FUTURE
        if self.tenant_registered is not None and self.period.end <= self.tenant_registered:
            return BEFORE_TENANT
        return COMPLETE if self.counted_until >= self.period.end else IN_PROGRESS

    @property
    def complete(self) -> bool:
        """The period is over and the tenant existed in it: its numbers will never change."""
        return self.status == COMPLETE

    @property
    def bought_changed(self) -> bool:
        """Another license set was imported during the counted span."""
        return len(self.license_sets) > 1

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
                "status": self.status,
                "complete": self.complete,
                "days": [day.isoformat() for day in self.days],
            },
            "billable": {
                "rule": BILLABLE_RULE,
                "plan_licenses": self.billable,
                "per_plan": {plan.name: plan.peak_day for plan in self.plans},
            },
            "license_sets": [
                {
                    "serial_number": v.serial_number,
                    "owner": v.owner_name,
                    "effective_from": v.effective_from.isoformat(),
                    "effective_to": v.effective_to.isoformat() if v.effective_to else None,
                    "installed_by": v.installed_by,
                    "signed_with": v.signed_with,
                    "trusted": v.trusted,
                }
                for v in self.license_sets
            ],
            "license_problems": list(self.license_problems),
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
