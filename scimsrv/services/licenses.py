"""License-set use cases: a tenant's status (show, verify) and importing a signed set."""

from __future__ import annotations

from datetime import datetime

from licensing_core.activation import UPDATED, ImportReport, import_license_set
from licensing_core.license_set import LicenseSetSpec
from licensing_core.license_status import LicenseStatus, license_status
from licensing_core.tenants import live_tenant


def status(tx, at: datetime | None = None) -> LicenseStatus:
    """Owner, serial, dates, seats per module and verification as of ``at`` (default: now)."""
    return license_status(tx.session, tx.tenant_id, at or tx.at, tx.keyring)


def import_set(tx, spec: LicenseSetSpec) -> ImportReport:
    """Verify ``spec`` and make it the tenant's set, then serve waiting users.
    The audit entry gets the set, the seats bought before -> after per module
    that changed, and the users served.

    :raises ImportRejected: a signature fails or more seats are in use than it
        grants; nothing changed (the report says per module what to remove).
    :raises TenantDeleted: a deleted tenant gets no license set again.
    """
    live_tenant(tx.session, tx.tenant_id)
    report = import_license_set(
        tx.session,
        tx.tenant_id,
        spec,
        at=tx.at,
        keyring=tx.keyring,
        installed_by=tx.actor,
        identify=tx.identify,
    )
    seats = [
        {
            "module": m.module_name,
            "version": m.module_version,
            "change": m.change,
            "before": m.old_total,
            "after": m.new_total,
            "unrestricted": m.unrestricted,
        }
        for m in report.modules
        if m.change != UPDATED or m.old_total != m.new_total
    ]
    owner = {"owner": report.owner_name, "serialNumber": report.serial_number}
    tx.journal.detail("licenseSet", owner | {"seats": seats})
    tx.journal.plans({outcome.assoc_id: outcome for outcome in report.served})
    return report
