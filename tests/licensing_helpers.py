"""Test helpers for the licensing core: tenants with small seat counts, associates,
and independent recomputations of what the links must be."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select

from licensing_core import signing
from licensing_core.counting import seat_problems
from licensing_core.license_set import load_default
from licensing_core.plan_state import Outcome, PlanBook
from licensing_core.plans import NO_SELECTION, Combination
from licensing_core.signing import KeyRing
from licensing_core.tables import Associate, LicenseAssocLink, ModuleLicense
from licensing_core.tenants import create_tenant, lock_plans

NOW = datetime(2026, 11, 1, 12, 0, 0)
# What a server with no vendor key configured trusts: the built-in TEST key.
KEYRING = KeyRing.of([], trust_test_key=True)


def book(session, tenant_id: str, at: datetime = NOW, cause: str = "test") -> PlanBook:
    """A PlanBook of the tenant, its plan lock taken, in ``session``'s transaction."""
    lock_plans(session, tenant_id)
    return PlanBook(session, tenant_id, at=at, cause=cause, keyring=KEYRING)


def combination(plans: Combination | str) -> Combination:
    if isinstance(plans, Combination):
        return plans
    return Combination.parse(plans) if plans else NO_SELECTION


def assign(
    session, tenant_id: str, assoc_id: int, plans: Combination | str, at: datetime = NOW
) -> Outcome | None:
    """Ask for ``plans`` for one associate; its outcome (None: the request was unchanged)."""
    return book(session, tenant_id, at).apply({assoc_id: combination(plans)}).get(assoc_id)


def held_names(session, tenant_id: str, assoc_id: int) -> set[str]:
    """The module names an associate holds links to."""
    return set(
        session.execute(
            select(ModuleLicense.module_name)
            .join(
                LicenseAssocLink,
                (LicenseAssocLink.tenant_id == ModuleLicense.tenant_id)
                & (LicenseAssocLink.module_license_id == ModuleLicense.id),
            )
            .where(LicenseAssocLink.tenant_id == tenant_id, LicenseAssocLink.assoc_id == assoc_id)
        ).scalars()
    )


def make_tenant(
    db,
    tenant_id: str,
    seats: int | dict[str, int] = 2,
    unrestricted=False,
    at: datetime = NOW,
    **owner_dates,
) -> None:
    """A tenant with ``seats`` per plan, registered ``at``; ``owner_dates`` (e.g.
    ``grace_to``) go on the owner."""
    spec = load_default()
    if owner_dates:
        spec = dataclasses.replace(spec, owner=dataclasses.replace(spec.owner, **owner_dates))
    plan_seats = seats if isinstance(seats, dict) else {p: seats for p in _plan_names()}
    with db.write() as session:
        create_tenant(
            session,
            tenant_id,
            at=at,
            license_set=spec.with_seats(plan_seats, unrestricted=unrestricted),
        )


def signed_set(seats: dict[str, int] | None = None, *, drop=(), key=None, **owner):
    """The default set with ``seats`` (others 10), without the ``drop`` modules,
    ``owner`` fields replaced, signed (default: the built-in TEST key)."""
    spec = load_default()
    if drop:
        spec = dataclasses.replace(
            spec, modules=tuple(m for m in spec.modules if m.module_name not in drop)
        )
    spec = spec.with_seats(seats or {})
    if owner:
        spec = dataclasses.replace(spec, owner=dataclasses.replace(spec.owner, **owner))
    return signing.sign_license_set(spec, key or signing.builtin_test_key())


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
