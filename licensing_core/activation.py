"""Activating a signed license set: verify it, then replace a tenant's set in one transaction.

docs/licensing.md §3: "a new license set is rejected when more seats are already
assigned than it grants; the admin sees, per module, in use / new total / how
many to remove and who holds them". Module rows are updated in place, matched
by (moduleName, moduleVersion), so links keep pointing at the same ids; new
modules are inserted; a module the new set drops is deleted only when no
link holds it. The import takes the tenant's plan lock exclusively
(:func:`licensing_core.tenants.lock_plans`), so it queues behind or ahead of
every concurrent assignment and never ends over-assigned; then it offers the
new seats to the users waiting for them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.counting import seats_in_use
from licensing_core.errors import InvalidLicenseSet, LicensingError
from licensing_core.identities import Identify
from licensing_core.license_history import record_version
from licensing_core.license_set import LicenseSetSpec, ModuleSpec
from licensing_core.plan_state import Outcome, PlanBook
from licensing_core.plural import plural
from licensing_core.signing import KeyRing, signed_key_label, verify_set
from licensing_core.tables import (
    USER_LICENSE,
    Associate,
    LicenseAssocLink,
    ModuleLicense,
    ModuleOwner,
)
from licensing_core.tenants import get_tenant, lock_plans
from licensing_core.verification import MODULE_COLUMNS

IMPORT_CAUSE = "license import"
NEW = "new"
UPDATED = "updated"
REMOVED = "removed"


@dataclass(frozen=True)
class Holder:
    """An associate holding a module the new set takes away."""

    assoc_id: int
    name: str
    user_name: str
    license_number: int

    def __str__(self) -> str:
        shown = f"{self.name} ({self.user_name})" if self.user_name != self.name else self.name
        return f"{self.assoc_id} {shown}"


@dataclass(frozen=True)
class ModuleChange:
    """One module before and after the import."""

    module_name: str
    module_version: str
    change: str
    in_use: int
    old_total: int | None
    new_total: int
    unrestricted: bool
    holders: tuple[Holder, ...] = ()
    why: str = ""

    @property
    def free(self) -> int | None:
        return None if self.unrestricted else self.new_total - self.in_use

    @property
    def to_remove(self) -> int:
        """Seats that must be released before the new set fits."""
        if self.why:
            return self.in_use
        return 0 if self.unrestricted else max(0, self.in_use - self.new_total)

    @property
    def blocks(self) -> bool:
        return bool(self.why) or self.to_remove > 0


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or why it was refused."""

    tenant_id: str
    owner_name: str
    serial_number: str
    modules: tuple[ModuleChange, ...]
    problems: tuple[str, ...] = ()
    # The waiting users the new seats served (empty until the import is done).
    served: tuple[Outcome, ...] = ()
    # The problems in one line (SetVerification.summary).
    summary: str = ""

    @property
    def accepted(self) -> bool:
        return not self.problems and not any(m.blocks for m in self.modules)

    @property
    def blocking(self) -> tuple[ModuleChange, ...]:
        return tuple(m for m in self.modules if m.blocks)

    def lines(self) -> list[str]:
        """Readable lines: per blocking module who holds it (signature problems
        are said in one line: :attr:`summary`)."""
        lines = []
        for m in self.blocking:
            what = m.why or f"in use {m.in_use}, new total {m.new_total}"
            lines.append(
                f"module {m.module_name!r} version {m.module_version!r}: {what}: "
                f"remove {m.to_remove}; held by: " + ", ".join(str(h) for h in m.holders)
            )
        return lines


class ImportRejected(LicensingError):
    """A license set that does not verify or does not fit the seats in use; nothing changed."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        if report.problems:
            reason = report.summary or report.problems[0]
        else:
            blocking = report.blocking
            reason = (
                f"more seats are in use than it grants on {plural(len(blocking), 'module')}: "
                + ", ".join(f"{m.module_name} (remove {m.to_remove})" for m in blocking)
            )
        super().__init__(f"license set rejected: {reason}")


def import_license_set(
    session: Session,
    tenant_id: str,
    spec: LicenseSetSpec,
    *,
    at: datetime,
    keyring: KeyRing,
    installed_by: str = "",
    identify: Identify | None = None,
) -> ImportReport:
    """Verify ``spec`` and make it the tenant's license set, in the caller's transaction.

    The set becomes a new version of the tenant's license history
    (:mod:`licensing_core.license_history`), in force from ``at``;
    ``installed_by`` says who imported it (an operator, a token);
    ``identify`` names the waiting users it serves (see :class:`PlanBook`),
    whose outcomes the report carries (``served``).

    Raises ImportRejected (with the report) when a signature fails or a module
    has more seats in use than the new set grants; the caller's transaction
    must then be rolled back, though nothing was written.
    """
    get_tenant(session, tenant_id)
    if any(m.license_number is None for m in spec.modules):
        raise InvalidLicenseSet(
            "the license set is not issued (modules without a licenseNumber) and so unsigned: "
            "the vendor issues and signs it with `scimsrv license sign`"
        )
    owner_spec = spec.owner
    verdict = verify_set(owner_spec, spec.modules, keyring)
    if not verdict.valid:
        raise ImportRejected(
            ImportReport(
                tenant_id,
                owner_spec.owner_name,
                owner_spec.serial_number,
                (),
                tuple(verdict.messages()),
                summary=verdict.summary(),
            )
        )

    lock_plans(session, tenant_id, exclusive=True)
    owners = list(
        session.execute(
            select(ModuleOwner)
            .where(ModuleOwner.tenant_id == tenant_id)
            .order_by(ModuleOwner.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    if len(owners) > 1:
        raise InvalidLicenseSet(
            f"tenant {tenant_id!r} has {len(owners)} license owners; import replaces exactly one"
        )
    rows = list(
        session.execute(
            select(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id)
            .order_by(ModuleLicense.id)
            .execution_options(populate_existing=True)
        ).scalars()
    )
    linked = seats_in_use(session, tenant_id, [r.id for r in rows])

    existing = {(r.module_name, r.module_version): r for r in rows}
    changes: list[ModuleChange] = []
    for module in spec.modules:
        row = existing.get((module.module_name, module.module_version))
        changes.append(_change(module, row, linked))
    wanted = {(m.module_name, m.module_version) for m in spec.modules}
    dropped = [r for r in rows if (r.module_name, r.module_version) not in wanted]
    for row in dropped:
        changes.append(
            ModuleChange(
                row.module_name,
                row.module_version,
                REMOVED,
                linked.get(row.id, 0),
                row.license_number,
                0,
                False,
                why="the new set drops it" if linked.get(row.id) else "",
            )
        )

    report = ImportReport(
        tenant_id, owner_spec.owner_name, owner_spec.serial_number, tuple(changes)
    )
    if not report.accepted:
        ids = {
            (m.module_name, m.module_version): existing[(m.module_name, m.module_version)].id
            for m in report.blocking
        }
        holders = _holders(session, tenant_id, list(ids.values()))
        report = dataclasses.replace(
            report,
            modules=tuple(
                dataclasses.replace(
                    m, holders=holders.get(ids[(m.module_name, m.module_version)], ())
                )
                if m.blocks
                else m
                for m in changes
            ),
        )
        raise ImportRejected(report)

    owner = owners[0] if owners else None
    if owner is None:
        owner = ModuleOwner(tenant_id=tenant_id, registered=at)
        session.add(owner)
    else:
        owner.updated = at
        owner.updated_count = (owner.updated_count or 0) + 1
    for attr in (
        "owner_name",
        "owner_description",
        "company_name",
        "serial_number",
        "expiration",
        "grace_to",
        "maintenance_to",
        "admin_warning_date",
        "next_check_date",
        "signature",
    ):
        setattr(owner, attr, getattr(owner_spec, attr))
    owner.extra_flags = 0
    owner.extra_info = ""
    owner.signed_public_key = signed_key_label(owner_spec.signature)
    session.flush()

    for row in dropped:
        session.delete(row)
    session.flush()
    for module in spec.modules:
        row = existing.get((module.module_name, module.module_version))
        if row is None:
            row = ModuleLicense(tenant_id=tenant_id, module_owner_id=owner.id, registered=at)
            session.add(row)
        else:
            row.updated = at
            row.updated_count = (row.updated_count or 0) + 1
        _copy_module(module, row)
    session.flush()
    record_version(session, tenant_id, owner, spec.modules, at=at, installed_by=installed_by)

    served = PlanBook(
        session, tenant_id, at=at, cause=IMPORT_CAUSE, keyring=keyring, identify=identify
    ).serve_queue()
    return dataclasses.replace(report, served=tuple(served.values()))


def _change(module: ModuleSpec, row: ModuleLicense | None, linked: dict[int, int]) -> ModuleChange:
    assert module.license_number is not None
    if row is None:
        return ModuleChange(
            module.module_name,
            module.module_version,
            NEW,
            0,
            None,
            module.license_number,
            module.unrestricted,
        )
    why = ""
    if module.license_type != USER_LICENSE and linked.get(row.id):
        why = "the new set makes it a system/site license, which users cannot hold"
    return ModuleChange(
        module.module_name,
        module.module_version,
        UPDATED,
        linked.get(row.id, 0),
        row.license_number,
        module.license_number,
        module.unrestricted,
        why=why,
    )


def _holders(
    session: Session, tenant_id: str, module_ids: list[int]
) -> dict[int, tuple[Holder, ...]]:
    rows = session.execute(
        select(
            LicenseAssocLink.module_license_id,
            Associate.id,
            Associate.name,
            Associate.user_name,
            LicenseAssocLink.license_number,
        )
        .join(
            Associate,
            (Associate.tenant_id == LicenseAssocLink.tenant_id)
            & (Associate.id == LicenseAssocLink.assoc_id),
        )
        .where(
            LicenseAssocLink.tenant_id == tenant_id,
            LicenseAssocLink.module_license_id.in_(module_ids),
        )
        .order_by(LicenseAssocLink.module_license_id, Associate.id)
    )
    found: dict[int, list[Holder]] = {}
    for module_id, assoc_id, name, user_name, number in rows:
        found.setdefault(module_id, []).append(Holder(assoc_id, name, user_name, number))
    return {module_id: tuple(holders) for module_id, holders in found.items()}


# What the signed file sets on a row: every verified column but the ids.
_SIGNED_COLUMNS = MODULE_COLUMNS[2:]


def _copy_module(module: ModuleSpec, row: ModuleLicense) -> None:
    for attr in _SIGNED_COLUMNS:
        setattr(row, attr, getattr(module, attr))
