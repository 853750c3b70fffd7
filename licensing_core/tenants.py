"""Tenants: creating one installs its license set (owner and module rows); the
tenant row is also the lock that serializes every change of its plans.

A tenant is *active*, *suspended* (``suspended`` holds when an operator
suspended it: its SCIM API is closed, its admin API is not) or *deleted*:
suspended with no license set installed. Deleting a tenant ends its license
set (its last version is closed at that moment, see
:mod:`licensing_core.license_history`) and keeps its row, its ledger and its
history, so usage reports still cover its last periods and its id is never
handed to another customer while that history exists (docs/tenants.md).

Contract terms (docs/tenants.md, "Billing periods"): the contract start and
billing period may change only while no billing period under the terms in
force has ended, since periods that ended were billed as they were aligned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from licensing_core import signing
from licensing_core.errors import LicensingError, UnknownTenant
from licensing_core.license_history import record_version
from licensing_core.license_set import LicenseSetSpec, load_default
from licensing_core.periods import (
    InvalidPeriod,
    Period,
    ended_periods,
    months_of,
    period_containing,
)
from licensing_core.tables import LicenseSetVersion, ModuleLicense, ModuleOwner, Tenant
from licensing_core.text import storable

ACTIVE = "active"
SUSPENDED = "suspended"
DELETED = "deleted"


class TenantExists(LicensingError):
    """A tenant id that is already taken (by a live or a deleted tenant)."""


class InvalidTenant(LicensingError, ValueError):
    """A tenant name or company name that cannot be stored."""


class TenantDeleted(LicensingError):
    """The tenant was deleted: only its history can be read (and purged)."""


class TermsLocked(LicensingError):
    """A change of contract start or billing period after a billing period
    under the terms in force has ended."""


# What a tenant id may be: it is part of URLs and command lines.
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def is_tenant_id(text: str) -> bool:
    """Whether ``text`` is a well-formed tenant id (1-63 of a-z, 0-9 and '-')."""
    return TENANT_ID.match(text) is not None


def create_tenant(
    session: Session,
    tenant_id: str,
    name: str = "",
    *,
    at: datetime,
    license_set: LicenseSetSpec | None = None,
    company_name: str | None = None,
    installed_by: str = "",
) -> Tenant:
    """Create a tenant with ``license_set`` (default: the default set, 10 seats a plan).

    ``company_name`` defaults to ``name`` (which may be empty; a company name
    given may not); ``installed_by`` is recorded as who installed the first
    license set (:mod:`licensing_core.license_history`).

    An unsigned set is signed here with the built-in TEST key (DEMO ONLY, see
    :mod:`licensing_core.signing`) so a fresh tenant verifies out of the box
    wherever the test key is trusted; production tenants get a vendor-signed
    set through ``scimsrv license import``.

    :raises TenantExists: the id is taken (also by a deleted tenant).
    :raises InvalidTenant: an empty company name.
    """
    existing = session.get(Tenant, tenant_id)
    if existing is not None:
        if is_deleted(session, existing):
            raise TenantExists(
                f"tenant {tenant_id!r} was deleted and its history is kept: purge it "
                "(tenant delete --purge) before using the id again"
            )
        raise TenantExists(f"tenant {tenant_id!r} already exists")
    tenant = Tenant(
        tenant_id=tenant_id,
        name=storable("the name", name),
        company_name=(
            storable("the company name", name)
            if company_name is None
            else _named("the company name", company_name)
        ),
        registered=at,
    )
    session.add(tenant)
    session.flush()
    spec = license_set or load_default().with_seats()
    if not spec.signed:
        spec = signing.sign_license_set(spec, signing.builtin_test_key())
    install_license_set(session, tenant_id, spec, at=at, installed_by=installed_by)
    return tenant


# First key of the PostgreSQL advisory lock that is a tenant's gate (the
# second is the hash of its id): an arbitrary constant that marks the lock as
# this one in pg_locks.
GATE_SPACE = 0x5C1A


def gate(tenant_id: Any, *, shared: bool):
    """SQL that enters the tenant's *gate* until the transaction ends:
    PostgreSQL's transaction-level advisory lock on (:data:`GATE_SPACE`,
    hash of ``tenant_id``), shared or exclusive. ``tenant_id``: a value or a
    bind parameter.

    Why a gate: PostgreSQL grants a row lock that is compatible with the
    current holders at once, even while a conflicting request waits, so a
    ``FOR UPDATE`` on the tenant row can wait for ever behind the ``FOR KEY
    SHARE`` that a steady stream of user inserts takes on it. Advisory locks
    queue in arrival order. Every write with a tenant's token enters the gate
    shared (in its token check); every change of the whole tenant enters it
    exclusively before it takes the row (:func:`close_gate`), so it waits
    only for the writes already admitted, and the writes after it wait for it.
    Two tenants whose hashes collide share a gate, which costs only waiting.
    """
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    return lock(GATE_SPACE, func.hashtext(tenant_id))


def close_gate(session: Session, tenant_id: str) -> None:
    """Enter the tenant's gate exclusively (PostgreSQL; SQLite runs one write
    transaction at a time and has no gate): the first step of every change of
    the whole tenant (:func:`gate`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(gate(tenant_id, shared=False)))


def lock_plans(session: Session, tenant_id: str, *, exclusive: bool = False) -> None:
    """Take the tenant's plan lock until the transaction ends.

    Every transaction that changes plan states, links or the ledger takes it
    first (PostgreSQL ``SELECT ... FOR NO KEY UPDATE`` on the
    tenant row; SQLite's write transactions already hold the database lock),
    so they run one at a time per tenant and read what the one before
    committed. ``exclusive`` (``FOR UPDATE``) is for changes that recompute the
    whole tenant (rule changes, license imports): it also waits for, and
    holds off, every transaction inserting a row that references the tenant
    (users, groups: their foreign key takes ``FOR KEY SHARE`` on it), and
    enters the tenant's gate first (:func:`close_gate`). The full
    protocol is in :mod:`scimsrv.provisioning.recompute`.

    :raises UnknownTenant: no such tenant.
    """
    if exclusive:
        close_gate(session, tenant_id)
    statement = select(Tenant.tenant_id).where(Tenant.tenant_id == tenant_id)
    if session.execute(statement.with_for_update(key_share=not exclusive)).first() is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    """The tenant row, deleted or not.

    :raises UnknownTenant: no such tenant.
    """
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    return tenant


def has_license_set(tenant_id):
    """SQL: whether the tenant (an id or a column) has a license set installed."""
    return exists().where(ModuleOwner.tenant_id == tenant_id)


def is_deleted(session: Session, tenant: Tenant) -> bool:
    """Whether ``tenant`` was deleted: suspended, and no license set installed."""
    if tenant.suspended is None:
        return False
    return not session.execute(select(has_license_set(tenant.tenant_id))).scalar_one()


def deleted_tenant(tenant_id: str, since: datetime) -> TenantDeleted:
    """The error for a change asked of a tenant deleted at ``since``."""
    return TenantDeleted(
        f"tenant {tenant_id!r} was deleted on {since:%Y-%m-%d %H:%M} UTC: "
        "only its usage reports and its details can be read"
    )


def live_tenant(session: Session, tenant_id: str) -> Tenant:
    """The tenant row of a tenant that was not deleted (suspended or not).

    :raises UnknownTenant, TenantDeleted: as the names say.
    """
    tenant = get_tenant(session, tenant_id)
    if is_deleted(session, tenant):
        raise deleted_tenant(tenant_id, tenant.suspended)
    return tenant


@dataclass(frozen=True)
class TenantInfo:
    """What operators see of a tenant: ``state`` is ``active``, ``suspended``
    or ``deleted``; ``suspended`` the moment it was suspended, or deleted."""

    tenant_id: str
    name: str
    company_name: str
    contract_start: date | None
    billing_period: str
    registered: datetime
    suspended: datetime | None
    state: str

    def current_period(self, at: datetime) -> Period:
        """The billing period that contains ``at``."""
        return period_containing(at, self.billing_period, self.contract_start)

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The tenant as the admin API lists it, with its SCIM ``base_url``."""
        return {
            "id": self.tenant_id,
            "name": self.name,
            "company": self.company_name,
            "contractStart": self.contract_start.isoformat() if self.contract_start else None,
            "billingPeriod": self.billing_period,
            "state": self.state,
            "registered": self.registered.isoformat(timespec="seconds"),
            "suspended": self.suspended.isoformat(timespec="seconds") if self.suspended else None,
            "scimBaseUrl": base_url,
        }


def tenant_infos(session: Session, tenant_id: str | None = None) -> list[TenantInfo]:
    """Every tenant by id (or only ``tenant_id``), in one query."""
    statement = select(Tenant, has_license_set(Tenant.tenant_id)).order_by(Tenant.tenant_id)
    if tenant_id is not None:
        statement = statement.where(Tenant.tenant_id == tenant_id)
    return [
        TenantInfo(
            tenant.tenant_id,
            tenant.name,
            tenant.company_name,
            tenant.contract_start,
            tenant.billing_period,
            tenant.registered,
            tenant.suspended,
            ACTIVE if tenant.suspended is None else SUSPENDED if licensed else DELETED,
        )
        for tenant, licensed in session.execute(statement)
    ]


def tenant_info(session: Session, tenant_id: str) -> TenantInfo:
    """:func:`tenant_infos` of one tenant.

    :raises UnknownTenant: no such tenant.
    """
    found = tenant_infos(session, tenant_id)
    if not found:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    return found[0]


def change_tenant(
    session: Session,
    tenant_id: str,
    *,
    at: datetime,
    name: str | None = None,
    company_name: str | None = None,
    contract_start: date | None = None,
    billing_period: str | None = None,
) -> Tenant:
    """Rename a tenant, set its company name or its contract terms (None: left as it is).

    Billing periods align to the contract start, so a billing period is set
    with one (given now or before). The contract start and billing period
    change only while the first billing period under the terms in force has
    not ended at ``at`` (or no contract start was ever set), and never so
    that a period which ended while the tenant existed would move.

    :raises UnknownTenant, TenantDeleted: as the names say.
    :raises InvalidTenant: an empty name or company name.
    :raises InvalidText: a name longer than 255 characters.
    :raises InvalidPeriod: an unknown billing period, or one without a contract start.
    :raises TermsLocked: the terms in force already ended a billing period.
    """
    tenant = live_tenant(session, tenant_id)
    if billing_period is not None:
        months_of(billing_period)
    terms = (
        contract_start or tenant.contract_start,
        billing_period or tenant.billing_period,
    )
    if terms != (tenant.contract_start, tenant.billing_period):
        if terms[0] is None:
            raise InvalidPeriod(
                "billing periods align to the contract start: set the contract start too"
            )
        if tenant.contract_start is not None:
            first = first_period(tenant.billing_period, tenant.contract_start)
            if at >= first.end:
                raise TermsLocked(
                    f"tenant {tenant_id!r} is billed {tenant.billing_period} from "
                    f"{tenant.contract_start.isoformat()} and its first period "
                    f"({first.label}) ended on {first.end:%Y-%m-%d}: changing the contract "
                    "start or billing period now would move periods already billed"
                )
        _keeps_ended_periods(tenant, *terms, at=at)
        tenant.contract_start, tenant.billing_period = terms
    if name is not None:
        tenant.name = _named("the name", name)
    if company_name is not None:
        tenant.company_name = _named("the company name", company_name)
    session.flush()
    return tenant


def _keeps_ended_periods(
    tenant: Tenant, contract_start: date, billing_period: str, *, at: datetime
) -> None:
    """New terms may not move a billing period that ended while the tenant
    existed (it was billed as it was aligned), even where the terms in force
    were the default ones or started later than that period.

    :raises TermsLocked: naming the periods that would move.
    """
    old = (tenant.billing_period, tenant.contract_start)
    billed = ended_periods(*old, tenant.registered, at)
    if billed and ended_periods(billing_period, contract_start, tenant.registered, at) != billed:
        spans = ", ".join(
            f"{p.label} ({p.start:%Y-%m-%d} to {p.end:%Y-%m-%d})" for p in billed[-3:]
        )
        raise TermsLocked(
            f"tenant {tenant.tenant_id!r} has billing periods that ended under its current "
            f"terms ({len(billed)}, the last: {spans}): changing the contract start or billing "
            "period this way would move periods already billed"
        )


def _named(what: str, text: str) -> str:
    """``text`` as a name to store: not blank, within its column.

    :raises InvalidTenant: a blank name.
    :raises InvalidText: one the column cannot store.
    """
    if not text.strip():
        raise InvalidTenant(f"{what} cannot be empty")
    return storable(what, text)


def first_period(billing_period: str, contract_start: date) -> Period:
    """The first billing period of a contract starting on ``contract_start``."""
    return period_containing(
        datetime.combine(contract_start, time()), billing_period, contract_start
    )


def suspend_tenant(session: Session, tenant_id: str, *, at: datetime) -> Tenant:
    """Suspend the tenant from ``at`` (a suspended one keeps its first moment).

    :raises UnknownTenant, TenantDeleted: as the names say.
    """
    tenant = live_tenant(session, tenant_id)
    if tenant.suspended is None:
        tenant.suspended = at
        session.flush()
    return tenant


def resume_tenant(session: Session, tenant_id: str) -> Tenant:
    """End the tenant's suspension (nothing to do when it is active).

    :raises UnknownTenant, TenantDeleted: a deleted tenant is never resumed.
    """
    tenant = live_tenant(session, tenant_id)
    tenant.suspended = None
    session.flush()
    return tenant


def end_tenant(session: Session, tenant_id: str, *, at: datetime) -> None:
    """Mark a tenant deleted at ``at``: suspended from ``at`` (the moment a
    deleted tenant shows), its license set removed and its last version closed.

    Its licenses must have been released already (links refer to the set).
    Call it holding the tenant's plan lock exclusively.
    """
    session.execute(update(Tenant).where(Tenant.tenant_id == tenant_id).values(suspended=at))
    session.execute(
        update(LicenseSetVersion)
        .where(LicenseSetVersion.tenant_id == tenant_id, LicenseSetVersion.effective_to.is_(None))
        .values(effective_to=at)
    )
    session.execute(delete(ModuleLicense).where(ModuleLicense.tenant_id == tenant_id))
    session.execute(delete(ModuleOwner).where(ModuleOwner.tenant_id == tenant_id))
    session.expire_all()


def install_license_set(
    session: Session, tenant_id: str, spec: LicenseSetSpec, *, at: datetime, installed_by: str
) -> ModuleOwner:
    """Write the owner row and one modulelicense row per module of ``spec``,
    and record it as the tenant's first license set version.

    ``spec`` must have concrete seat counts (``LicenseSetSpec.with_seats``);
    its signatures are written as they are (verification happens on use).
    """
    owner = spec.owner
    row = ModuleOwner(
        tenant_id=tenant_id,
        owner_name=owner.owner_name,
        owner_description=owner.owner_description,
        company_name=owner.company_name,
        serial_number=owner.serial_number,
        expiration=owner.expiration,
        grace_to=owner.grace_to,
        maintenance_to=owner.maintenance_to,
        admin_warning_date=owner.admin_warning_date,
        next_check_date=owner.next_check_date,
        signature=owner.signature,
        signed_public_key=signing.signed_key_label(owner.signature),
        registered=at,
    )
    session.add(row)
    session.flush()
    session.add_all(
        ModuleLicense(
            tenant_id=tenant_id,
            module_owner_id=row.id,
            module_name=module.module_name,
            module_description=module.module_description,
            module_version=module.module_version,
            license_type=module.license_type,
            license_number=module.license_number,
            unrestricted=module.unrestricted,
            hidden=module.hidden,
            extra_flags=module.extra_flags,
            extra_info=module.extra_info,
            sort_order=module.sort_order,
            prerequisite_module=module.prerequisite_module,
            signature=module.signature,
            registered=at,
        )
        for module in spec.modules
    )
    session.flush()
    record_version(session, tenant_id, row, spec.modules, at=at, installed_by=installed_by)
    return row
