"""Assembling a tenant's usage report for a period: the period aligned to the contract,
the tally of the counted span, the seats bought (from the license history:
what was in force then, not today's set) and the users pending.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from licensing_core.counting import LOGIN_MODULES
from licensing_core.license_history import PeriodSets, seats_in_force
from licensing_core.periods import Period, days_of, period_for_label
from licensing_core.plans import ALL_COMBINATIONS, Plan
from licensing_core.signing import KeyRing
from licensing_core.tables import Tenant
from licensing_core.tenants import get_tenant, is_deleted
from licensing_core.usage.model import LoginSeats, UsageReport
from licensing_core.usage.names import ALL_USERS, PLAN_OF_BIT, combination_name
from licensing_core.usage.pending import pending_users
from licensing_core.usage.tally import ALL, COMBINATION, PLAN, tally_span, usage_of
from licensing_core.verification import verify_tenant


def tenant_period(session: Session, tenant_id: str, label: str) -> Period:
    """The tenant's billing period ``label`` names (:func:`period_for_label`)."""
    tenant = get_tenant(session, tenant_id)
    return period_for_label(label, tenant.billing_period, tenant.contract_start)


_COMBINATION_ORDER = {c.name: i for i, c in enumerate(ALL_COMBINATIONS)}


def usage_report(
    session: Session,
    tenant_id: str,
    period: Period | str,
    *,
    as_of: datetime,
    keyring: KeyRing | None = None,
) -> UsageReport:
    """The tenant's usage over ``period`` (a Period or a label), counted up to ``as_of``.

    With ``keyring`` the report lists the problems of the license set
    installed now when it fails verification: plans granted from its rows have
    stopped working, and the billing team must know before invoicing.
    """
    tenant = get_tenant(session, tenant_id)
    if isinstance(period, str):
        period = period_for_label(period, tenant.billing_period, tenant.contract_start)
    until = max(period.start, min(period.end, as_of))
    counted = Period(period.label, period.start, until)
    days = days_of(counted) if until > period.start else []
    raw = tally_span(session, tenant_id, period.start, until)
    trusts = keyring.trusts if keyring is not None else None
    sets = seats_in_force(session, tenant_id, period.start, until, trusts)
    plans = tuple(
        usage_of(plan.name, raw.get((PLAN, bit)), days, counted.days, **_bought(sets, plan))
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
        login=tuple(
            LoginSeats(name, seats.at_end or 0, seats.at_end is None)
            for name, seats in sets.seats.items()
            if name in LOGIN_MODULES
        ),
        plans=plans,
        combinations=tuple(combinations),
        all_users=usage_of(ALL_USERS, raw.get((ALL, 0)), days, counted.days),
        pending=pending_users(session, tenant_id, period.start, until),
        tenant_registered=tenant.registered,
        license_sets=sets.versions,
        license_problems=tuple([*_untrusted(sets), *_problems(session, tenant, keyring)]),
    )


def _bought(sets: PeriodSets, plan: Plan) -> dict:
    """The plan's seats in force: at the end of the span and the most during it."""
    seats = sets.seats.get(plan.module_name)
    if seats is None:
        return {"bought": 0, "bought_most": 0}
    return {
        "bought": seats.at_end or 0,
        "unrestricted": seats.at_end is None,
        "bought_most": seats.most,
    }


def _untrusted(sets: PeriodSets) -> list[str]:
    """A line per set in force in the span that this server's keys do not
    prove: its seats were counted as 0 bought."""
    return [
        f"license set {v.serial_number or '-'} (from {v.effective_from:%Y-%m-%d %H:%M}) is "
        f"signed with {v.signed_with or 'no key'}, which this server does not trust: "
        "nothing could be granted from it, so its seats count as 0 bought"
        for v in sets.versions
        if not v.trusted
    ]


def _problems(session: Session, tenant: Tenant, keyring: KeyRing | None) -> list[str]:
    """Why the set installed now fails verification (nothing when no keyring is
    given, or for a deleted tenant, which has no set by design)."""
    if keyring is None or is_deleted(session, tenant):
        return []
    verification = verify_tenant(session, tenant.tenant_id, keyring)
    if verification.valid:
        return []
    return [
        f"the license set installed now fails verification: {message}: "
        "plans granted from it have stopped working"
        for message in verification.messages()
    ]
