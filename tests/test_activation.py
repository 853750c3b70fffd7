"""Importing a signed license set: verified, rejected when seats in use exceed it,
otherwise replacing the tenant's set in place in one transaction, race-free."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import select, update

from licensing_core import signing
from licensing_core.activation import ImportRejected, import_license_set
from licensing_core.counting import seats_in_use
from licensing_core.errors import InvalidLicenseSet
from licensing_core.holdings import read_holdings
from licensing_core.license_set import load_default
from licensing_core.plans import BASE_PLANS, Combination
from licensing_core.tables import LICENSED, Associate, LicenseAssocLink, ModuleLicense, ModuleOwner
from tests.licensing_helpers import (
    KEYRING,
    NOW,
    add_associates,
    book,
    current_links,
    make_tenant,
    over_assigned,
    signed_set,
)

LATER = datetime(2026, 11, 2, 9, 0, 0)


def assign(db, tenant_id, users, plan: str, at=NOW) -> list[bool]:
    """Ask for ``plan`` for ``users``; whether each holds it now."""
    with db.write() as session:
        book(session, tenant_id, at).apply(dict.fromkeys(users, Combination.parse(plan)))
        holdings = read_holdings(session, tenant_id, users)
        return [holdings[u].state == LICENSED for u in users]


def install(session, tenant_id, spec):
    return import_license_set(session, tenant_id, spec, at=LATER, keyring=KEYRING)


def module_rows(db, tenant_id) -> dict[str, ModuleLicense]:
    with db.read() as session:
        rows = session.execute(select(ModuleLicense).where(ModuleLicense.tenant_id == tenant_id))
        return {row.module_name: row for row in rows.scalars()}


def test_import_replaces_the_set_in_place_so_links_keep_their_module_ids(db, tenant_id):
    make_tenant(db, tenant_id, seats=2)
    users = add_associates(db, tenant_id, 2)
    assert assign(db, tenant_id, users, "Sales-Premium") == [True, True]
    before = module_rows(db, tenant_id)
    with db.read() as session:
        links_before = current_links(session, tenant_id)

    with db.write() as session:
        report = install(
            session,
            tenant_id,
            signed_set({"Sales-Premium": 5}, company_name="Acme AS", serial_number="4711"),
        )
    assert report.accepted
    premium = next(m for m in report.modules if m.module_name == "sales-premium")
    assert (premium.in_use, premium.new_total, premium.free) == (2, 5, 3)

    after = module_rows(db, tenant_id)
    assert {n: r.id for n, r in after.items()} == {n: r.id for n, r in before.items()}
    assert after["sales-premium"].license_number == 5
    with db.read() as session:
        assert seats_in_use(session, tenant_id, [after["sales-premium"].id]) == {
            after["sales-premium"].id: 2
        }
    with db.read() as session:
        assert current_links(session, tenant_id) == links_before
        assert over_assigned(session, tenant_id) == []
        owner = session.execute(
            select(ModuleOwner).where(ModuleOwner.tenant_id == tenant_id)
        ).scalar_one()
    assert (owner.company_name, owner.serial_number) == ("Acme AS", "4711")
    assert assign(db, tenant_id, add_associates_named(db, tenant_id, 3), "Sales-Premium") == [
        True,
        True,
        True,
    ]


def add_associates_named(db, tenant_id, count, prefix="extra"):
    with db.write() as session:
        rows = [
            Associate(
                tenant_id=tenant_id,
                name=f"{prefix}{i}",
                user_name=f"{prefix.title()} {i}",
                registered=NOW,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_license_set_rejected_when_more_seats_in_use_than_granted(db, tenant_id):
    make_tenant(db, tenant_id, seats=5)
    holders = add_associates_named(db, tenant_id, 3, prefix="anna")
    assert assign(db, tenant_id, holders, "Sales-Premium") == [True] * 3
    [service] = add_associates_named(db, tenant_id, 1, prefix="bob")
    assert assign(db, tenant_id, [service], "Service-Essentials") == [True]
    before = module_rows(db, tenant_id)

    with pytest.raises(ImportRejected) as caught, db.write() as session:
        install(session, tenant_id, signed_set({"Sales-Premium": 1}))

    report = caught.value.report
    assert not report.accepted
    blocking = {m.module_name: m for m in report.blocking}
    premium = blocking["sales-premium"]
    assert (premium.in_use, premium.new_total, premium.to_remove) == (3, 1, 2)
    assert [(h.assoc_id, h.name, h.user_name) for h in premium.holders] == [
        (holders[0], "anna0", "Anna 0"),
        (holders[1], "anna1", "Anna 1"),
        (holders[2], "anna2", "Anna 2"),
    ]
    # Hidden licenses only Sales-Premium implies shrink with it; shared ones (user, web) do not.
    assert "chat-cal" in blocking and "user" not in blocking and "sales-essentials" not in blocking
    assert str(caught.value).startswith("license set rejected:")
    assert "sales-premium (remove 2)" in str(caught.value)
    line = next(x for x in report.lines() if "'sales-premium'" in x)
    assert "in use 3, new total 1: remove 2" in line
    assert f"{holders[0]} anna0 (Anna 0)" in line
    after = module_rows(db, tenant_id)
    assert {n: r.license_number for n, r in after.items()} == {
        n: r.license_number for n, r in before.items()
    }


def test_import_that_exactly_fits_the_seats_in_use_is_accepted(db, tenant_id):
    make_tenant(db, tenant_id, seats=5)
    users = add_associates(db, tenant_id, 3)
    assign(db, tenant_id, users, "Marketing-Premium")
    with db.write() as session:
        report = install(session, tenant_id, signed_set({"Marketing-Premium": 3}))
    assert report.accepted
    marketing = next(m for m in report.modules if m.module_name == "marketing-premium")
    assert (marketing.in_use, marketing.new_total, marketing.free) == (3, 3, 0)
    assert assign(db, tenant_id, add_associates_named(db, tenant_id, 1), "Marketing-Premium") == [
        False
    ]


def test_import_adds_new_modules_and_deletes_dropped_ones_nobody_holds(db, tenant_id):
    spec = load_default()
    smaller = dataclasses.replace(
        spec, modules=tuple(m for m in spec.modules if m.module_name != "audience")
    ).with_seats()
    from licensing_core.tenants import create_tenant

    with db.write() as session:
        create_tenant(session, tenant_id, at=NOW, license_set=smaller)
    with db.write() as session:
        report = install(session, tenant_id, signed_set(drop=("quote",)))
    changes = {m.module_name: m.change for m in report.modules}
    assert changes["audience"] == "new" and changes["quote"] == "removed"
    rows = module_rows(db, tenant_id)
    assert "audience" in rows and "quote" not in rows


def test_import_rejected_when_it_drops_a_module_someone_holds(db, tenant_id):
    make_tenant(db, tenant_id, seats=3)
    [user] = add_associates(db, tenant_id, 1)
    assert assign(db, tenant_id, [user], "Marketing-Premium") == [True]
    spec = load_default()
    plan = spec.plan_module("Marketing-Premium")
    only_marketing_premium = {
        name
        for name in plan.implied
        if all(name not in spec.implied(p) for p in BASE_PLANS if p.name != "Marketing-Premium")
    }
    dropped = {"marketing-premium", *only_marketing_premium}
    with pytest.raises(ImportRejected) as caught, db.write() as session:
        install(session, tenant_id, signed_set(drop=dropped))
    blocking = {m.module_name: m for m in caught.value.report.blocking}
    assert set(blocking) == dropped
    assert blocking["marketing-premium"].to_remove == 1
    assert blocking["marketing-premium"].holders[0].assoc_id == user
    assert "marketing-premium" in module_rows(db, tenant_id)


def test_import_refuses_a_tampered_file_and_changes_nothing(db, tenant_id):
    make_tenant(db, tenant_id, seats=2)
    spec = signed_set({"Sales-Premium": 3})
    forged = dataclasses.replace(
        spec,
        modules=tuple(
            dataclasses.replace(m, license_number=500) if m.module_name == "sales-premium" else m
            for m in spec.modules
        ),
    )
    with pytest.raises(ImportRejected) as caught, db.write() as session:
        install(session, tenant_id, forged)
    assert any("'sales-premium'" in p for p in caught.value.report.problems)
    assert module_rows(db, tenant_id)["sales-premium"].license_number == 2


def test_import_refuses_a_set_signed_with_an_unknown_key(db, tenant_id):
    make_tenant(db, tenant_id, seats=2)
    key = signing.generate_key()
    with pytest.raises(ImportRejected) as caught, db.write() as session:
        install(session, tenant_id, signed_set(key=key))
    assert str(caught.value) == (
        f"license set rejected: the license set is signed with key {key.kid}, which this "
        "server does not trust: add the vendor's public key to SCIMSRV_LICENSE_PUBLIC_KEYS"
    )
    assert all(f"signed with unknown key {key.kid}" in p for p in caught.value.report.problems)


def test_import_refuses_a_set_without_computed_seats(db, tenant_id):
    make_tenant(db, tenant_id, seats=2)
    with pytest.raises(InvalidLicenseSet, match="not issued"), db.write() as session:
        install(session, tenant_id, load_default())


def test_import_repairs_a_tampered_tenant(db, tenant_id):
    make_tenant(db, tenant_id, seats=2)
    [user] = add_associates(db, tenant_id, 1)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "web")
            .values(license_number=999)
        )
    assert assign(db, tenant_id, [user], "Sales-Premium") == [False]
    with db.write() as session:
        install(session, tenant_id, signed_set({"Sales-Premium": 2}))
    assert assign(db, tenant_id, [user], "Sales-Premium") == [True]


def test_import_of_a_renewed_set_lifts_the_read_only_state(db, tenant_id):
    stop = datetime(2026, 10, 1)
    with db.write() as session:
        from licensing_core.tenants import create_tenant

        create_tenant(
            session, tenant_id, at=NOW, license_set=signed_set(expiration=stop, grace_to=stop)
        )
    [user] = add_associates(db, tenant_id, 1)
    assert assign(db, tenant_id, [user], "Sales-Premium") == [False], "read-only: it waits"
    with db.write() as session:
        install(session, tenant_id, signed_set(expiration=datetime(2027, 10, 1)))
    assert assign(db, tenant_id, [user], "Sales-Premium") == [True]


def race(tasks) -> list:
    barrier = threading.Barrier(len(tasks), timeout=60)

    def run(task):
        barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks, timeout=120))


@pytest.mark.parametrize("new_seats", [2, 6])
def test_import_racing_concurrent_assignments_never_ends_over_assigned(db, tenant_id, new_seats):
    make_tenant(db, tenant_id, seats={"Sales-Premium": 4})
    users = add_associates(db, tenant_id, 8)
    spec = signed_set({"Sales-Premium": new_seats})

    def assigner(user):
        def task():
            with db.write() as session:
                wanted = {user: Combination.parse("Sales-Premium")}
                return book(session, tenant_id).apply(wanted)[user].complete

        return task

    def importer():
        try:
            with db.write() as session:
                return install(session, tenant_id, spec).accepted
        except ImportRejected:
            return False

    outcomes = race([importer, *(assigner(u) for u in users)])
    imported, granted = outcomes[0], sum(outcomes[1:])
    seats = new_seats if imported else 4
    with db.read() as session:
        assert over_assigned(session, tenant_id) == []
        held = session.execute(
            select(LicenseAssocLink.assoc_id)
            .join(
                ModuleLicense,
                (ModuleLicense.tenant_id == LicenseAssocLink.tenant_id)
                & (ModuleLicense.id == LicenseAssocLink.module_license_id),
            )
            .where(
                LicenseAssocLink.tenant_id == tenant_id,
                ModuleLicense.module_name == "sales-premium",
            )
        ).all()
        bought = module_rows(db, tenant_id)["sales-premium"].license_number
    assert bought == seats
    # A larger set serves the users who were refused before it came.
    assert granted <= len(held) <= seats
    if not imported:
        assert new_seats < granted, "only a set smaller than the seats in use is rejected"


def test_import_serves_users_waiting_for_seats_first_waiting_first_served(db, tenant_id):
    from licensing_core.tables import PENDING, AssociatePlan

    make_tenant(db, tenant_id, seats={"Sales-Premium": 1})
    first, second, third = add_associates(db, tenant_id, 3)
    plan = Combination.parse("Sales-Premium")
    for minute, user in enumerate((first, second, third)):
        with db.write() as session:
            book(session, tenant_id, NOW.replace(minute=minute)).apply({user: plan})
    with db.write() as session:
        install(session, tenant_id, signed_set({"Sales-Premium": 2}))
    with db.read() as session:
        states = {
            row.associate_id: row.state
            for row in session.execute(
                select(AssociatePlan).where(AssociatePlan.tenant_id == tenant_id)
            ).scalars()
        }
        assert over_assigned(session, tenant_id) == []
    assert states[third] == PENDING
    assert states[first] != PENDING and states[second] != PENDING
