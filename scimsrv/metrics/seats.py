"""Figures read from the database when Prometheus scrapes: seats bought and in
use per tenant and plan, users pending per tenant (docs/observability.md).

Cost: two statements in one read transaction, whatever the number of
tenants: the plan rows of every license set (six a tenant) with their seats
in use summed over the tenant's links through the (tenant, module, associate)
unique index, and a count of pending plan states through the (tenant, state)
index. On PostgreSQL the transaction may run for ``lock_timeout`` seconds
at most (``statement_timeout``); when it fails or runs out, the scrape
still answers, with ``scimsrv_metrics_database_up 0`` and without these
families.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from licensing_core.counting import IN_USE, USER_PLANS
from licensing_core.db import Database
from licensing_core.plans import plan_for_module
from licensing_core.tables import PENDING, AssociatePlan, ModuleLicense, Tenant

log = logging.getLogger("scimsrv")


@dataclass(frozen=True)
class PlanSeats:
    """One plan of one tenant's license set: seats bought (``licenseNumber``,
    a figure but no limit when ``unrestricted``) and in use."""

    tenant_id: str
    plan: str
    bought: int
    unrestricted: bool
    in_use: int


@dataclass(frozen=True)
class Figures:
    plans: list[PlanSeats]
    pending: dict[str, int]  # users waiting for seats, by tenant (every tenant)


def read_figures(db: Database, timeout: float) -> Figures | None:
    """The figures now, or None when the database failed or took longer than
    ``timeout`` seconds (PostgreSQL) to give them (logged)."""
    plans = select(
        ModuleLicense.tenant_id,
        ModuleLicense.module_name,
        ModuleLicense.license_number,
        ModuleLicense.unrestricted,
        IN_USE,
    ).where(*USER_PLANS)
    pending = (
        select(Tenant.tenant_id, func.count(AssociatePlan.associate_id))
        .outerjoin(
            AssociatePlan,
            (AssociatePlan.tenant_id == Tenant.tenant_id) & (AssociatePlan.state == PENDING),
        )
        .group_by(Tenant.tenant_id)
    )
    try:
        with db.read() as session:
            if db.dialect == "postgresql":
                session.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
            seats = _per_plan(session.execute(plans))
            return Figures(seats, dict(session.execute(pending).all()))
    except SQLAlchemyError as exc:
        log.warning("metrics: database figures unavailable: %s", exc.__class__.__name__)
        return None


def _per_plan(rows: Iterable[tuple[str, str, int, bool, int]]) -> list[PlanSeats]:
    """One entry per tenant and plan: the versions of a plan's module add up."""
    seats: dict[tuple[str, str], PlanSeats] = {}
    for tenant, module_name, bought, unrestricted, in_use in rows:
        plan = plan_for_module(module_name)
        name = plan.name if plan is not None else module_name
        seen = seats.get((tenant, name), PlanSeats(tenant, name, 0, False, 0))
        seats[tenant, name] = PlanSeats(
            tenant,
            name,
            seen.bought + bought,
            seen.unrestricted or bool(unrestricted),
            seen.in_use + in_use,
        )
    return [seats[key] for key in sorted(seats)]


class DatabaseFigures:
    """A collector (prometheus-client's protocol) of figures read beforehand."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "scimsrv_metrics_database_up",
            "1 when this scrape read the database figures, 0 when it could not.",
            value=0 if self.figures is None else 1,
        )
        if self.figures is None:
            return
        labels = ["tenant", "plan"]
        bought = GaugeMetricFamily(
            "scimsrv_plan_seats_bought", "Seats bought (licenseNumber) per plan.", labels=labels
        )
        unrestricted = GaugeMetricFamily(
            "scimsrv_plan_seats_unrestricted",
            "1 when the plan's seats are unrestricted (the bought figure is then no limit).",
            labels=labels,
        )
        in_use = GaugeMetricFamily(
            "scimsrv_plan_seats_in_use", "Seats in use per plan.", labels=labels
        )
        for seats in self.figures.plans:
            key = [seats.tenant_id, seats.plan]
            bought.add_metric(key, seats.bought)
            unrestricted.add_metric(key, int(seats.unrestricted))
            in_use.add_metric(key, seats.in_use)
        pending = GaugeMetricFamily(
            "scimsrv_users_pending", "Users waiting for seats, per tenant.", labels=["tenant"]
        )
        for tenant, count in sorted(self.figures.pending.items()):
            pending.add_metric([tenant], count)
        yield from (bought, unrestricted, in_use, pending)
