"""Test helpers for the licensing core: tenants with small seat counts, associates,
and independent recomputations of what the links must be."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select

from licensing_core.counting import seat_problems
from licensing_core.license_set import load_default
from licensing_core.tables import Associate, LicenseAssocLink
from licensing_core.tenants import create_tenant

NOW = datetime(2026, 11, 1, 12, 0, 0)


def make_tenant(
    db, tenant_id: str, seats: int | dict[str, int] = 2, unrestricted=False, **owner_dates
) -> None:
    """A tenant with ``seats`` per plan; ``owner_dates`` (e.g. ``grace_to``) go on the owner."""
    spec = load_default()
    if owner_dates:
        spec = dataclasses.replace(spec, owner=dataclasses.replace(spec.owner, **owner_dates))
    plan_seats = seats if isinstance(seats, dict) else {p: seats for p in _plan_names()}
    with db.write() as session:
        create_tenant(
            session,
            tenant_id,
            at=NOW,
            license_set=spec.with_seats(plan_seats, unrestricted=unrestricted),
        )


def _plan_names() -> list[str]:
    from licensing_core.plans import BASE_PLANS

    return [p.name for p in BASE_PLANS]


def add_associates(db, tenant_id: str, count: int) -> list[int]:
    with db.write() as session:
        rows = [
            Associate(tenant_id=tenant_id, name=f"user{i}", user_name=f"user{i}", registered=NOW)
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def current_links(session, tenant_id: str) -> dict[tuple[int, int], int]:
    rows = session.execute(
        select(
            LicenseAssocLink.module_license_id,
            LicenseAssocLink.assoc_id,
            LicenseAssocLink.license_number,
        ).where(LicenseAssocLink.tenant_id == tenant_id)
    )
    return {(m, a): n for m, a, n in rows}


def over_assigned(session, tenant_id: str) -> list[str]:
    """Modules whose links exceed the seats bought, or whose counter disagrees."""
    return seat_problems(session, tenant_id)
