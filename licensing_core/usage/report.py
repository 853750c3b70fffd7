"""Assembling a tenant's usage report for a period: the period aligned to the contract,
the tally of the counted span, the seats bought and the users pending.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from licensing_core.counting import LOGIN_MODULES
from licensing_core.periods import Period, days_of, period_for_label
from licensing_core.plans import ALL_COMBINATIONS
from licensing_core.tables import USER_PLAN_FLAG, ModuleLicense
from licensing_core.tenants import get_tenant
from licensing_core.usage.model import LoginSeats, UsageReport
from licensing_core.usage.names import ALL_USERS, PLAN_OF_BIT, combination_name
from licensing_core.usage.pending import pending_users
from licensing_core.usage.tally import ALL, COMBINATION, PLAN, tally_span, usage_of


def tenant_period(session: Session, tenant_id: str, label: str) -> Period:
    """The tenant's billing period ``label`` names (:func:`period_for_label`)."""
    tenant = get_tenant(session, tenant_id)
    return period_for_label(label, tenant.billing_period, tenant.contract_start)


_COMBINATION_ORDER = {c.name: i for i, c in enumerate(ALL_COMBINATIONS)}


def usage_report(
    session: Session, tenant_id: str, period: Period | str, *, as_of: datetime
) -> UsageReport:
    """The tenant's usage over ``period`` (a Period or a label), counted up to ``as_of``."""
    tenant = get_tenant(session, tenant_id)
    if isinstance(period, str):
        period = period_for_label(period, tenant.billing_period, tenant.contract_start)
    until = max(period.start, min(period.end, as_of))
    counted = Period(period.label, period.start, until)
    days = days_of(counted) if until > period.start else []
    raw = tally_span(session, tenant_id, period.start, until)
    seats = _plan_seats(session, tenant_id)
    plans = tuple(
        usage_of(
            plan.name,
            raw.get((PLAN, bit)),
            days,
            counted.days,
            bought=seats.get(plan.module_name, (0, False))[0],
            unrestricted=seats.get(plan.module_name, (0, False))[1],
        )
        for bit, plan in PLAN_OF_BIT.items()
    )
    combinations = sorted(
        (
            usage_of(combination_name(key), figures, days, counted.days)
            for (kind, key), figures in raw.items()
            if kind == COMBINATION
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
        all_users=usage_of(ALL_USERS, raw.get((ALL, 0)), days, counted.days),
        pending=pending_users(session, tenant_id, period.start, until),
    )


def _plan_seats(session: Session, tenant_id: str) -> dict[str, tuple[int, bool]]:
    """Plan module -> (seats bought, unrestricted) in the license set installed now."""
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
    """The ``user`` and ``web`` licenses of the license set installed now."""
    rows = session.execute(
        select(ModuleLicense.module_name, ModuleLicense.license_number, ModuleLicense.unrestricted)
        .where(
            ModuleLicense.tenant_id == tenant_id,
            ModuleLicense.module_name.in_(LOGIN_MODULES),
        )
        .order_by(ModuleLicense.sort_order, ModuleLicense.id)
    )
    return tuple(LoginSeats(*row) for row in rows)
