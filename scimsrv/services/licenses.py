"""License-set use cases: a tenant's status (show, verify) and importing a signed set."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from licensing_core.activation import ImportReport, import_license_set
from licensing_core.license_set import LicenseSetSpec
from licensing_core.license_status import LicenseStatus, license_status
from scimsrv.provisioning.decisions import DecisionBook


def status(tx, at: datetime | None = None) -> LicenseStatus:
    """Owner, serial, dates, seats per module and verification as of ``at`` (default: now)."""
    return license_status(tx.session, tx.tenant_id, at or tx.at, tx.keyring)


def import_set(tx, spec: LicenseSetSpec) -> ImportReport:
    """Verify ``spec`` and make it the tenant's set, then serve waiting users
    (their decisions join ``tx.decided``).

    :raises ImportRejected: a signature fails or more seats are in use than it
        grants; nothing changed (the report says per module what to remove).
    """
    return import_license_set(
        tx.session,
        tx.tenant_id,
        spec,
        at=tx.at,
        keyring=tx.keyring,
        installed_by=tx.actor,
        identify=tx.storage.users.identities,
        plan_book=partial(DecisionBook, decided=tx.decided),
    )
