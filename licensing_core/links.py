"""The only place that writes licenseassoclink rows.

Every grant first reserves seats with a conditional update of the module's
``inUse`` counter (``... WHERE unrestricted OR inUse + n <= licenseNumber``),
so two transactions can never both take the last seat: the second one waits
for the row lock and then finds the condition false. Every grant and release
appends to the license ledger in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from licensing_core.errors import SeatShortage
from licensing_core.tables import (
    GRANT,
    RELEASE,
    USER_LICENSE,
    LedgerEntry,
    LicenseAssocLink,
    ModuleLicense,
)
from licensing_core.verification import verify_tenant

_module = ModuleLicense.__table__
_link = LicenseAssocLink.__table__


@dataclass(frozen=True)
class Module:
    """What assignment needs to know of one user-license row."""

    id: int
    tenant_id: str
    name: str
    is_plan: bool
    license_number: int
    unrestricted: bool
    extra_info: str
    # Why the row does not work ("" when its signatures hold): a module whose
    # row or set fails verification is never granted (licensing_core.verification).
    invalid: str = ""


@dataclass(frozen=True)
class HeldLink:
    """One link an associate holds."""

    link_id: int
    module: Module
    license_number: int


def lock_user_licenses(session: Session, tenant_id: str) -> list[Module]:
    """The tenant's user licenses, row-locked in id order until the transaction ends.

    Locking all of them up front, always in the same order, means the
    transactions that change a tenant's links queue behind each other instead
    of deadlocking (PostgreSQL ``FOR UPDATE``; SQLite's write transactions
    already hold the database lock). Each row is verified against the
    trusted keys before use; see ``Module.invalid``.
    """
    rows = (
        session.execute(
            select(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id, ModuleLicense.license_type == USER_LICENSE)
            .order_by(ModuleLicense.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    problems = verify_tenant(session, tenant_id).row_problems if rows else {}
    return [
        Module(
            id=row.id,
            tenant_id=row.tenant_id,
            name=row.module_name,
            is_plan=row.is_plan,
            license_number=row.license_number,
            unrestricted=row.unrestricted,
            extra_info=row.extra_info,
            invalid=problems.get(row.id, ""),
        )
        for row in rows
    ]


def held_links(session: Session, tenant_id: str, assoc_id: int, modules: Iterable[Module]):
    """The links ``assoc_id`` holds, by module id, among ``modules``."""
    by_id = {m.id: m for m in modules}
    rows = session.execute(
        select(_link.c.LicenseAssocLink_id, _link.c.moduleLicense_id, _link.c.licenseNumber).where(
            _link.c.tenant_id == tenant_id, _link.c.assoc_id == assoc_id
        )
    )
    return {
        module_id: HeldLink(link_id, by_id[module_id], number)
        for link_id, module_id, number in rows
        if module_id in by_id
    }


def _free_seats(session: Session, module: Module) -> int:
    in_use = session.execute(select(_module.c.inUse).where(_module.c.moduleLicense_id == module.id))
    return module.license_number - in_use.scalar_one()


def _change_in_use(session: Session, module: Module, delta: int) -> bool:
    """Add ``delta`` to the module's counter if the seat invariant still holds."""
    stmt = (
        update(_module)
        .where(_module.c.moduleLicense_id == module.id, _module.c.tenant_id == module.tenant_id)
        .values(inUse=_module.c.inUse + delta)
    )
    if delta > 0:
        stmt = stmt.where(
            or_(_module.c.unrestricted, _module.c.inUse + delta <= _module.c.licenseNumber)
        )
    return session.execute(stmt).rowcount == 1


def _ledger_rows(
    event: str, tenant_id: str, assoc_id: int, items, at: datetime, cause: str
) -> list[dict]:
    return [
        {
            "tenant_id": tenant_id,
            "at": at,
            "event": event,
            "moduleLicense_id": module.id,
            "moduleName": module.name,
            "is_plan": module.is_plan,
            "assoc_id": assoc_id,
            "licenseNumber": number,
            "cause": cause,
        }
        for module, number in items
    ]


def grant(
    session: Session,
    tenant_id: str,
    assoc_id: int,
    modules: Sequence[Module],
    *,
    at: datetime,
    cause: str,
    license_number: int = 1,
) -> None:
    """Give ``assoc_id`` one link to each module, all or none.

    Raises SeatShortage naming the first module without a free seat; the
    counters of the modules reserved before it are given back, so nothing of
    this call remains.
    """
    ordered = sorted(modules, key=lambda m: m.id)
    reserved: list[Module] = []
    for module in ordered:
        if not _change_in_use(session, module, license_number):
            for done in reserved:
                _change_in_use(session, done, -license_number)
            raise SeatShortage(module.name, license_number, _free_seats(session, module))
        reserved.append(module)
    if not ordered:
        return
    session.execute(
        insert(_link),
        [
            {
                "tenant_id": tenant_id,
                "moduleLicense_id": module.id,
                "assoc_id": assoc_id,
                "licenseNumber": license_number,
                "validFrom": at,
                "comment": cause,
                "registered": at,
                "registered_associate_id": 0,
                "updated_associate_id": 0,
                "updatedCount": 0,
            }
            for module in ordered
        ],
    )
    session.execute(
        insert(LedgerEntry.__table__),
        _ledger_rows(GRANT, tenant_id, assoc_id, [(m, license_number) for m in ordered], at, cause),
    )


def release(
    session: Session,
    tenant_id: str,
    assoc_id: int,
    links: Sequence[HeldLink],
    *,
    at: datetime,
    cause: str,
) -> None:
    """Remove ``links`` of ``assoc_id``, give their seats back and record it."""
    if not links:
        return
    ordered = sorted(links, key=lambda link: link.module.id)
    session.execute(
        delete(_link).where(
            _link.c.tenant_id == tenant_id,
            _link.c.LicenseAssocLink_id.in_([link.link_id for link in ordered]),
        )
    )
    for link in ordered:
        _change_in_use(session, link.module, -link.license_number)
    session.execute(
        insert(LedgerEntry.__table__),
        _ledger_rows(
            RELEASE,
            tenant_id,
            assoc_id,
            [(link.module, link.license_number) for link in ordered],
            at,
            cause,
        ),
    )
