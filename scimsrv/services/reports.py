"""Usage-report use cases (:mod:`licensing_core.usage`): a tenant's report for a
period, and the users behind one figure."""

from __future__ import annotations

from datetime import datetime

from licensing_core.periods import Period
from licensing_core.usage import ExplainRow, UsageReport, explain, tenant_period, usage_report


def report(tx, label: str, as_of: datetime) -> UsageReport:
    """The tenant's usage over the period ``label`` names, counted up to
    ``as_of`` (or now, when that is later).

    :raises InvalidPeriod, UnknownTenant: as the names say.
    """
    return usage_report(tx.session, tx.tenant_id, label, as_of=_past(tx, as_of), keyring=tx.keyring)


def _past(tx, as_of: datetime) -> datetime:
    """``as_of``, or now when it is later: a report counts only what has
    happened, so a period counted to a future moment must read as in
    progress, not complete with figures nobody knows yet."""
    return min(as_of, tx.at)


def explained(tx, label: str, name: str, as_of: datetime) -> tuple[Period, list[ExplainRow]]:
    """The period ``label`` names and the users behind the figures of ``name``
    (a plan, a combination, ``users`` or ``pending``) over it.

    :raises InvalidCombination, InvalidPeriod, UnknownTenant: as the names say.
    """
    period = tenant_period(tx.session, tx.tenant_id, label)
    return period, list(explain(tx.session, tx.tenant_id, period, name, as_of=_past(tx, as_of)))
