"""Tenants: creating one installs its license set (owner and module rows); the
tenant row is also the lock that serializes every change of its plans."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core import signing
from licensing_core.errors import LicensingError, UnknownTenant
from licensing_core.license_history import record_version
from licensing_core.license_set import LicenseSetSpec, load_default
from licensing_core.tables import ModuleLicense, ModuleOwner, Tenant


class TenantExists(LicensingError):
    """A tenant id that is already taken."""


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

    ``company_name`` defaults to ``name``; ``installed_by`` is recorded as who
    installed the first license set (:mod:`licensing_core.license_history`).

    An unsigned set is signed here with the built-in TEST key (DEMO ONLY, see
    :mod:`licensing_core.signing`) so a fresh tenant verifies out of the box
    wherever the test key is trusted; production tenants get a vendor-signed
    set through ``scimsrv license import``.
    """
    if session.get(Tenant, tenant_id) is not None:
        raise TenantExists(f"tenant {tenant_id!r} already exists")
    tenant = Tenant(
        tenant_id=tenant_id,
        name=name,
        company_name=name if company_name is None else company_name,
        registered=at,
    )
    session.add(tenant)
    session.flush()
    spec = license_set or load_default().with_seats()
    if not spec.signed:
        spec = signing.sign_license_set(spec, signing.builtin_test_key())
    install_license_set(session, tenant_id, spec, at=at, installed_by=installed_by)
    return tenant


def lock_plans(session: Session, tenant_id: str, *, exclusive: bool = False) -> None:
    """Take the tenant's plan lock until the transaction ends.

    Every transaction that changes plan states, links or the ledger takes it
    first (PostgreSQL ``SELECT ... FOR NO KEY UPDATE`` on the
    tenant row; SQLite's write transactions already hold the database lock),
    so they run one at a time per tenant and read what the one before
    committed. ``exclusive`` (``FOR UPDATE``) is for changes that recompute the
    whole tenant (rule changes, license imports): it also waits for, and
    holds off, every transaction inserting a row that references the tenant
    (users, groups: their foreign key takes ``FOR KEY SHARE`` on it). The full
    protocol is in :mod:`scimsrv.provisioning.recompute`.

    :raises UnknownTenant: no such tenant.
    """
    statement = select(Tenant.tenant_id).where(Tenant.tenant_id == tenant_id)
    if session.execute(statement.with_for_update(key_share=not exclusive)).first() is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise UnknownTenant(f"no tenant {tenant_id!r}")
    return tenant


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


def tenant_names(session: Session) -> list[tuple[str, str]]:
    """Every tenant as (id, name), by id."""
    rows = session.execute(select(Tenant.tenant_id, Tenant.name).order_by(Tenant.tenant_id))
    return [(tenant_id, name) for tenant_id, name in rows]
