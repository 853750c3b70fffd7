"""The license status and the set's dates: expiration, graceTo (read-only after it),
adminWarningDate (a warning), maintenanceTo (informational)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from sqlalchemy import update

from licensing_core import signing
from licensing_core.errors import UnknownTenant
from licensing_core.license_set import load_default
from licensing_core.license_status import license_status
from licensing_core.tables import ModuleLicense
from licensing_core.tenants import create_tenant
from tests import licensing_helpers as helpers
from tests.licensing_helpers import KEYRING, NOW, add_associates, make_tenant

WARN = datetime(2027, 9, 1)
EXPIRES = datetime(2027, 12, 31)
GRACE = datetime(2028, 1, 31)
MAINTENANCE = datetime(2027, 6, 30)


def dated_tenant(db, tenant_id, **dates) -> None:
    spec = load_default().with_seats({"Sales-Premium": 2})
    spec = dataclasses.replace(spec, owner=dataclasses.replace(spec.owner, **dates))
    with db.write() as session:
        create_tenant(
            session,
            tenant_id,
            at=NOW,
            license_set=signing.sign_license_set(spec, signing.builtin_test_key()),
        )


def status(db, tenant_id, at):
    with db.read() as session:
        return license_status(session, tenant_id, at, KEYRING)


def assign(db, tenant_id, user, plan, at):
    with db.write() as session:
        return helpers.assign(session, tenant_id, user, plan, at)


def test_fresh_tenant_status_shows_owner_seats_per_module_and_a_valid_test_key_signature(
    db, tenant_id
):
    make_tenant(db, tenant_id, seats=3)
    [user] = add_associates(db, tenant_id, 1)
    assert assign(db, tenant_id, user, "Sales-Premium", NOW).complete

    current = status(db, tenant_id, NOW)
    assert current.valid and not current.read_only and not current.errors
    assert current.owner_name == "SUPEROFFICE"
    assert current.signed_with == f"ed25519:{signing.builtin_test_key_id()}"
    assert current.warnings == (signing.TEST_KEY_WARNING,)
    premium = current.module("sales-premium")
    assert (premium.bought, premium.in_use, premium.free, premium.valid) == (3, 1, 2, True)
    assert current.module("sales-essentials").in_use == 0
    assert len(current.modules) == len(load_default().modules)


def test_unrestricted_modules_have_no_free_count(db, tenant_id):
    make_tenant(db, tenant_id, seats=3, unrestricted=True)
    assert status(db, tenant_id, NOW).module("sales-premium").free is None


def test_status_names_tampered_rows_as_invalid(db, tenant_id):
    make_tenant(db, tenant_id, seats=3)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "t2")
            .values(license_number=1000)
        )
    current = status(db, tenant_id, NOW)
    assert not current.valid
    assert not current.module("t2").valid
    assert current.module("t1").valid
    assert any(e.startswith("license invalid: module 't2'") for e in current.errors)


def test_status_of_an_unknown_tenant_is_an_error(db):
    with pytest.raises(UnknownTenant):
        status(db, "no-such-tenant", NOW)


def test_no_expiration_means_the_set_never_stops(db, tenant_id):
    make_tenant(db, tenant_id, seats=1)
    [user] = add_associates(db, tenant_id, 1)
    far = datetime(2999, 1, 1)
    assert not status(db, tenant_id, far).read_only
    assert assign(db, tenant_id, user, "Sales-Premium", far).complete


def test_admin_warning_date_starts_a_warning_before_expiry(db, tenant_id):
    dated_tenant(
        db,
        tenant_id,
        expiration=EXPIRES,
        grace_to=GRACE,
        admin_warning_date=WARN,
        maintenance_to=MAINTENANCE,
    )
    before = status(db, tenant_id, datetime(2027, 8, 31))
    assert before.warnings == (signing.TEST_KEY_WARNING,)
    warned = status(db, tenant_id, WARN)
    assert "license expires on 2027-12-31 00:00: import a new license set" in warned.warnings
    assert not warned.errors
    assert warned.maintenance_to == MAINTENANCE  # informational: no message past it


def test_between_expiration_and_grace_licenses_still_change_with_a_warning(db, tenant_id):
    dated_tenant(db, tenant_id, expiration=EXPIRES, grace_to=GRACE)
    [user] = add_associates(db, tenant_id, 1)
    in_grace = datetime(2028, 1, 15)
    current = status(db, tenant_id, in_grace)
    assert not current.read_only and not current.errors
    assert any(w.startswith("license expired on 2027-12-31") for w in current.warnings)
    assert assign(db, tenant_id, user, "Sales-Premium", in_grace).complete


def test_after_grace_grants_are_refused_and_releases_still_go_through(db, tenant_id):
    dated_tenant(db, tenant_id, expiration=EXPIRES, grace_to=GRACE)
    holder, newcomer, leaver = add_associates(db, tenant_id, 3)
    assert assign(db, tenant_id, holder, "Sales-Premium", NOW).complete
    assert assign(db, tenant_id, leaver, "Sales-Premium", NOW).complete
    after = datetime(2028, 2, 1)

    refused = assign(db, tenant_id, newcomer, "Sales-Premium", after)  # would grant
    assert refused.state == "pending" and "license expired" in refused.reason
    assert refused.granted.is_empty
    # A change of plans releases what is no longer needed; the new grant waits.
    moved = assign(db, tenant_id, holder, "Sales-Essentials", after)
    assert "sales-premium" in moved.removed and moved.state == "pending"
    released = assign(db, tenant_id, leaver, "", after)  # offboarding always works
    assert released.state == "none" and "sales-premium" in released.removed

    current = status(db, tenant_id, after)
    assert current.read_only
    assert current.errors[0].startswith("license expired: the license set stopped on 2028-01-31")
    assert current.module("sales-premium").in_use == 0


def test_without_grace_the_set_stops_at_expiration(db, tenant_id):
    dated_tenant(db, tenant_id, expiration=EXPIRES)
    [user] = add_associates(db, tenant_id, 1)
    assert assign(db, tenant_id, user, "Sales-Premium", EXPIRES).complete
    moved = assign(db, tenant_id, user, "Sales-Essentials", datetime(2028, 1, 1))
    assert moved.state == "pending" and "license expired" in moved.reason
    assert status(db, tenant_id, datetime(2028, 1, 1)).read_only
