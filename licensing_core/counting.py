"""Counting users and plans, the ways the CRM documents it.

* Approach 1: the number of ``user``/``web`` licenses bought (an upper bound).
* Approach 2: the number of user-plan licenses (extraFlags=1) in use.
* Pay-per-use: plan links with ``licenseNumber`` > 0 held by associates that
  are not retired, per plan, per combination (multi-plan users) and in total;
  this is what SCIM customers with huge or unrestricted licenses are billed on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from licensing_core.plans import Combination, plan_for_module
from licensing_core.tables import (
    USER_LICENSE,
    USER_PLAN_FLAG,
    Associate,
    LicenseAssocLink,
    ModuleLicense,
    Tenant,
)

LOGIN_MODULES = ("user", "web")

# Seats in use of a modulelicense row: the sum of licenseNumber over its
# links, each link at least one seat (editing a link down to 0 frees no
# seat), correlated to the ModuleLicense of the enclosing query. Never
# stored: an unsigned counter could be edited to lift the seat limit. Read
# under the tenant's plan lock it is exact for the transaction.
_OCCUPIED = case((LicenseAssocLink.license_number > 1, LicenseAssocLink.license_number), else_=1)
IN_USE = (
    select(func.coalesce(func.sum(_OCCUPIED), 0))
    .where(
        LicenseAssocLink.tenant_id == ModuleLicense.tenant_id,
        LicenseAssocLink.module_license_id == ModuleLicense.id,
    )
    .scalar_subquery()
    .label("in_use")
)


# The modulelicense rows that are user plans (extraFlags=1 user licenses).
USER_PLANS = (
    ModuleLicense.license_type == USER_LICENSE,
    ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
)


@dataclass(frozen=True)
class Seats:
    """Bought and used seats of one module."""

    module_name: str
    bought: int
    unrestricted: bool
    in_use: int
    module_id: int

    @property
    def free(self) -> int | None:
        return None if self.unrestricted else self.bought - self.in_use


@dataclass(frozen=True)
class BillableUsage:
    """Pay-per-use figures of one tenant."""

    tenant_id: str
    per_plan: dict[str, int] = field(default_factory=dict)
    per_combination: dict[str, int] = field(default_factory=dict)

    @property
    def users(self) -> int:
        """Associates that hold at least one plan."""
        return sum(self.per_combination.values())

    @property
    def plan_licenses(self) -> int:
        return sum(self.per_plan.values())


def seats_in_use(session: Session, tenant_id: str, module_ids: list[int]) -> dict[int, int]:
    """Seats in use (sum of link licenseNumber) of each of ``module_ids``; one query."""
    rows = session.connection().execute(
        select(ModuleLicense.id, IN_USE).where(
            ModuleLicense.tenant_id == tenant_id, ModuleLicense.id.in_(module_ids)
        )
    )
    return dict(rows.all())


def _seats(session: Session, tenant_id: str, *conditions) -> list[Seats]:
    rows = session.execute(
        select(
            ModuleLicense.module_name,
            ModuleLicense.license_number,
            ModuleLicense.unrestricted,
            IN_USE,
            ModuleLicense.id,
        )
        .where(ModuleLicense.tenant_id == tenant_id, *conditions)
        .order_by(ModuleLicense.sort_order, ModuleLicense.id)
    )
    return [Seats(*row) for row in rows]


def login_licenses_bought(session: Session, tenant_id: str) -> list[Seats]:
    """Approach 1: the ``user`` and ``web`` licenses: bought (an upper bound) and held."""
    return _seats(session, tenant_id, ModuleLicense.module_name.in_(LOGIN_MODULES))


def user_license_seats(session: Session, tenant_id: str) -> list[Seats]:
    """Every user license (licenseType 3): bought and in use."""
    return _seats(session, tenant_id, ModuleLicense.license_type == USER_LICENSE)


def plans_in_use(session: Session, tenant_id: str) -> list[Seats]:
    """Approach 2: every user plan (extraFlags=1) with the licenses in use."""
    return _seats(session, tenant_id, *USER_PLANS)


def seat_problems(session: Session, tenant_id: str) -> list[str]:
    """Modules whose links exceed the seats bought."""
    problems = []
    for seats in _seats(session, tenant_id):
        if not seats.unrestricted and seats.in_use > seats.bought:
            problems.append(
                f"module {seats.module_name}: {seats.in_use} assigned > {seats.bought} bought"
            )
    return problems


def billable_usage(session: Session, tenant_id: str) -> BillableUsage:
    """Pay-per-use: plans held by active associates, per plan and per combination.

    Streams the plan links ordered by associate, so memory stays flat in the
    number of users.
    """
    rows = session.execute(
        select(LicenseAssocLink.assoc_id, ModuleLicense.module_name)
        .join(
            ModuleLicense,
            (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
            & (ModuleLicense.id == LicenseAssocLink.module_license_id),
        )
        .join(
            Associate,
            (Associate.tenant_id == LicenseAssocLink.tenant_id)
            & (Associate.id == LicenseAssocLink.assoc_id),
        )
        .where(
            LicenseAssocLink.tenant_id == tenant_id,
            LicenseAssocLink.license_number > 0,
            Associate.deleted.is_(False),
            ModuleLicense.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG,
        )
        .order_by(LicenseAssocLink.assoc_id)
        .execution_options(yield_per=10_000)
    )
    per_plan: Counter[str] = Counter()
    per_combination: Counter[str] = Counter()
    for _assoc_id, group in _by_associate(rows):
        plans = [p for p in (plan_for_module(name) for name in group) if p is not None]
        for plan in plans:
            per_plan[plan.name] += 1
        if plans:
            per_combination[Combination.of(plans).name] += 1
    return BillableUsage(tenant_id, dict(per_plan), dict(per_combination))


def _by_associate(rows) -> Iterator[tuple[int, list[str]]]:
    current: int | None = None
    names: list[str] = []
    for assoc_id, module_name in rows:
        if assoc_id != current:
            if current is not None:
                yield current, names
            current, names = assoc_id, []
        names.append(module_name)
    if current is not None:
        yield current, names


def billable_usage_all(session: Session) -> Iterator[BillableUsage]:
    """Pay-per-use figures for every tenant, one tenant at a time."""
    for tenant_id in session.execute(select(Tenant.tenant_id).order_by(Tenant.tenant_id)).scalars():
        yield billable_usage(session, tenant_id)
