"""Every license set a tenant has had, and the seats each one granted.

An import (:mod:`licensing_core.activation`) closes the version in force
(``effective_to`` = the moment of the import) and opens a new one with the
owner's serial number, company, signing key and who installed it, plus one
``license_set_seats`` row per user license. Billing reports read the seats
bought in a past period here (:func:`seats_in_force`), never from today's
set: a period's "bought" is what was in force at its end, and the most that
was in force at any moment of it when the set changed within it
(docs/licensing.md §5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from licensing_core.tables import (
    USER_LICENSE,
    USER_PLAN_FLAG,
    LicenseSetSeats,
    LicenseSetVersion,
    ModuleOwner,
)


def record_version(
    session: Session,
    tenant_id: str,
    owner: ModuleOwner,
    modules: Iterable,
    *,
    at: datetime,
    installed_by: str,
) -> int:
    """Close the version in force and record the set now installed as in force from ``at``.

    ``modules``: the set's module specs (``module_name``, ``module_version``,
    ``license_type``, ``extra_flags``, ``license_number``, ``unrestricted``);
    only user licenses (type 3) are kept. Call it holding the tenant's plan
    lock exclusively. :returns: the new version's id.
    """
    session.execute(
        update(LicenseSetVersion)
        .where(LicenseSetVersion.tenant_id == tenant_id, LicenseSetVersion.effective_to.is_(None))
        .values(effective_to=at)
    )
    version = LicenseSetVersion(
        tenant_id=tenant_id,
        effective_from=at,
        effective_to=None,
        owner_name=owner.owner_name,
        serial_number=owner.serial_number,
        company_name=owner.company_name,
        signed_with=owner.signed_public_key,
        installed_by=installed_by[:255],
    )
    session.add(version)
    session.flush()
    seats = [
        {
            "tenant_id": tenant_id,
            "version_id": version.id,
            "moduleName": m.module_name,
            "moduleVersion": m.module_version,
            "is_plan": bool(m.extra_flags & USER_PLAN_FLAG),
            "licenseNumber": m.license_number,
            "unrestricted": m.unrestricted,
        }
        for m in modules
        if m.license_type == USER_LICENSE
    ]
    if seats:
        session.execute(insert(LicenseSetSeats.__table__), seats)
    return version.id


@dataclass(frozen=True)
class SetVersion:
    """One license set as it was in force."""

    id: int
    effective_from: datetime
    effective_to: datetime | None
    serial_number: str
    owner_name: str
    installed_by: str
    # The signing key (``ed25519:<kid>``), and whether this server trusts it:
    # a set signed with a key it does not trust granted nothing, so its
    # seats count as 0 bought.
    signed_with: str = ""
    trusted: bool = True


@dataclass(frozen=True)
class SeatsInForce:
    """The seats one module had during a period.

    ``at_end``: bought at the period's end (0 when the set in force then
    lacked the module); ``most``: the most in force at any moment of the
    period. None in either means unrestricted.
    """

    module_name: str
    is_plan: bool
    at_end: int | None
    most: int | None

    @property
    def changed(self) -> bool:
        return self.at_end != self.most


@dataclass(frozen=True)
class PeriodSets:
    """The license sets in force during ``[start, end)`` and what they granted."""

    versions: tuple[SetVersion, ...]
    seats: dict[str, SeatsInForce]

    @property
    def changed(self) -> bool:
        """Whether another set was imported within the period."""
        return len(self.versions) > 1


def seats_in_force(
    session: Session,
    tenant_id: str,
    start: datetime,
    end: datetime,
    trusts: Callable[[str], bool] | None = None,
) -> PeriodSets:
    """The versions in force at some moment of ``[start, end)`` and their seats
    per module (summed over module versions of one name); two queries.
    ``trusts``: whether this server trusts a signing key (``ed25519:<kid>``);
    a version signed with one it does not trust counts 0 seats, since
    nothing could be granted from it (None: trust every version)."""
    rows = session.execute(
        select(LicenseSetVersion)
        .where(
            LicenseSetVersion.tenant_id == tenant_id,
            LicenseSetVersion.effective_from < end,
            (LicenseSetVersion.effective_to.is_(None)) | (LicenseSetVersion.effective_to > start),
        )
        .order_by(LicenseSetVersion.effective_from, LicenseSetVersion.id)
    ).scalars()
    versions = tuple(
        SetVersion(
            v.id,
            v.effective_from,
            v.effective_to,
            v.serial_number,
            v.owner_name,
            v.installed_by,
            v.signed_with,
            trusts is None or trusts(v.signed_with),
        )
        for v in rows
    )
    untrusted = {v.id for v in versions if not v.trusted}
    if not versions:
        return PeriodSets((), {})
    per_version: dict[int, dict[str, tuple[bool, int | None]]] = {v.id: {} for v in versions}
    for row in session.execute(
        select(LicenseSetSeats).where(
            LicenseSetSeats.tenant_id == tenant_id,
            LicenseSetSeats.version_id.in_(list(per_version)),
        )
    ).scalars():
        modules = per_version[row.version_id]
        is_plan, before = modules.get(row.module_name, (row.is_plan, 0))
        if row.version_id in untrusted:
            number = 0
        elif row.unrestricted or before is None:
            number = None
        else:
            number = before + row.license_number
        modules[row.module_name] = (is_plan or row.is_plan, number)
    # Seats at the end of the span: the last version's, if it is still in
    # force then (a deleted tenant's last version closed before it).
    closing = versions[-1]
    in_force = closing.effective_to is None or closing.effective_to >= end
    last = per_version[closing.id] if in_force else {}
    names = sorted({name for modules in per_version.values() for name in modules})
    seats = {}
    for name in names:
        present = [modules[name] for modules in per_version.values() if name in modules]
        numbers = [number for _, number in present]
        most = None if None in numbers else max(numbers)
        at_end = last[name][1] if name in last else 0
        seats[name] = SeatsInForce(name, any(p for p, _ in present), at_end, most)
    return PeriodSets(versions, seats)
