"""A tenant's license status: owner, serial, dates, seats per module, verification, messages.

The dates of the moduleowner row (docs/licensing.md §2):

* ``expiration`` (none = forever): after it the status warns that the set expired.
* ``graceTo``: the real stop date. After it, changes that would alter license
  assignments are refused (:class:`LicenseExpired`); reads keep working. Without
  a ``graceTo`` the set stops at ``expiration``.
* ``adminWarningDate``: from then on the status warns that the set ends soon.
* ``maintenanceTo``, ``nextCheckDate``: informational only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.counting import IN_USE
from licensing_core.errors import LicenseExpired, UnknownTenant
from licensing_core.signing import TEST_KEY_WARNING, KeyRing
from licensing_core.tables import ModuleLicense, ModuleOwner, Tenant
from licensing_core.verification import TenantVerification, verify_tenant

ACTIVE = "active"
READ_ONLY = "read-only"
INVALID = "invalid"


def stop_date(owner: ModuleOwner) -> datetime | None:
    """When the set goes read-only: ``graceTo``, else ``expiration``, else never."""
    return owner.grace_to if owner.grace_to is not None else owner.expiration


@dataclass(frozen=True)
class ModuleStatus:
    """Seats and validity of one modulelicense row."""

    module_id: int
    module_name: str
    module_version: str
    description: str
    license_type: int
    hidden: bool
    is_plan: bool
    bought: int
    unrestricted: bool
    in_use: int
    problem: str

    @property
    def free(self) -> int | None:
        """Seats left, or None when unrestricted."""
        return None if self.unrestricted else self.bought - self.in_use

    @property
    def valid(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class LicenseStatus:
    """What an admin sees on the licenses screen, as of ``at``."""

    tenant_id: str
    at: datetime
    owner_name: str
    company_name: str
    serial_number: str
    signed_with: str
    expiration: datetime | None
    grace_to: datetime | None
    maintenance_to: datetime | None
    admin_warning_date: datetime | None
    next_check_date: datetime | None
    modules: tuple[ModuleStatus, ...]
    verification: TenantVerification
    date_errors: tuple[str, ...]  # past the stop date
    warnings: tuple[str, ...]

    @property
    def errors(self) -> tuple[str, ...]:
        """Every error: one line per failing signature (:attr:`verification`), then the dates."""
        return (*self.verification.messages(), *self.date_errors)

    @property
    def valid(self) -> bool:
        """Every signature holds (dates aside)."""
        return self.verification.valid

    @property
    def read_only(self) -> bool:
        """Past the stop date: license changes are refused."""
        stop = self.grace_to if self.grace_to is not None else self.expiration
        return stop is not None and self.at > stop

    @property
    def state(self) -> str:
        """``invalid`` (a signature fails: the rows it touches are never
        granted), ``read-only`` (past the stop date) or ``active``."""
        if not self.valid:
            return INVALID
        return READ_ONLY if self.read_only else ACTIVE

    def module(self, module_name: str, module_version: str = "1") -> ModuleStatus:
        for module in self.modules:
            if (module.module_name, module.module_version) == (module_name, module_version):
                return module
        raise KeyError(module_name)


def license_status(
    session: Session, tenant_id: str, at: datetime, keyring: KeyRing
) -> LicenseStatus:
    """The tenant's license status at ``at``; UnknownTenant if there is no such tenant."""
    if session.get(Tenant, tenant_id) is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    verification = verify_tenant(session, tenant_id, keyring)
    owner = (
        session.execute(
            select(ModuleOwner).where(ModuleOwner.tenant_id == tenant_id).order_by(ModuleOwner.id)
        )
        .scalars()
        .first()
    )
    rows = session.execute(
        select(ModuleLicense, IN_USE)
        .where(ModuleLicense.tenant_id == tenant_id)
        .order_by(ModuleLicense.sort_order, ModuleLicense.id)
    ).all()
    modules = tuple(
        ModuleStatus(
            module_id=row.id,
            module_name=row.module_name,
            module_version=row.module_version,
            description=row.module_description,
            license_type=row.license_type,
            hidden=row.hidden,
            is_plan=row.is_plan,
            bought=row.license_number,
            unrestricted=row.unrestricted,
            in_use=in_use,
            problem=verification.row_problems.get(row.id, ""),
        )
        for row, in_use in rows
    )
    warnings = []
    # Untrusted, the TEST key is the verification's problem, not a risk to warn of.
    if verification.test_key_used and keyring.test_key_trusted:
        warnings.append(TEST_KEY_WARNING)
    if owner is not None:
        warnings += _date_warnings(owner, at)
    return LicenseStatus(
        tenant_id=tenant_id,
        at=at,
        owner_name=owner.owner_name if owner else "",
        company_name=owner.company_name if owner else "",
        serial_number=owner.serial_number if owner else "",
        signed_with=owner.signed_public_key if owner else "",
        expiration=owner.expiration if owner else None,
        grace_to=owner.grace_to if owner else None,
        maintenance_to=owner.maintenance_to if owner else None,
        admin_warning_date=owner.admin_warning_date if owner else None,
        next_check_date=owner.next_check_date if owner else None,
        modules=modules,
        verification=verification,
        date_errors=tuple(_date_errors(owner, at)) if owner is not None else (),
        warnings=tuple(warnings),
    )


def _day(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="minutes")


def _date_errors(owner: ModuleOwner, at: datetime) -> list[str]:
    stop = stop_date(owner)
    if stop is not None and at > stop:
        return [str(LicenseExpired(stop))]
    return []


def _date_warnings(owner: ModuleOwner, at: datetime) -> list[str]:
    stop = stop_date(owner)
    if stop is not None and at > stop:
        return []
    if owner.expiration is not None and at > owner.expiration:
        return [
            f"license expired on {_day(owner.expiration)}; license changes stop after "
            f"{_day(stop)} (graceTo): import a new license set"
        ]
    if owner.admin_warning_date is not None and at >= owner.admin_warning_date:
        if owner.expiration is not None:
            return [f"license expires on {_day(owner.expiration)}: import a new license set"]
        return ["license set needs renewal (adminWarningDate passed)"]
    return []
