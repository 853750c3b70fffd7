"""Counting users and plans: approach 1, approach 2 and the pay-per-use figure."""

from __future__ import annotations

from sqlalchemy import update

from licensing_core.counting import (
    billable_usage,
    billable_usage_all,
    login_licenses_bought,
    plans_in_use,
)
from licensing_core.plans import Combination
from licensing_core.tables import Associate, LicenseAssocLink
from tests.licensing_helpers import add_associates, book, make_tenant


def give(db, tenant_id, plans_by_user: dict[int, str]) -> None:
    with db.write() as session:
        requests = {a: Combination.parse(text) for a, text in plans_by_user.items()}
        outcomes = book(session, tenant_id).apply(requests)
        assert all(outcome.complete for outcome in outcomes.values())


def test_approach_one_counts_user_and_web_licenses_bought(db, tenant_id):
    make_tenant(db, tenant_id, seats=4)
    [a, b] = add_associates(db, tenant_id, 2)
    give(db, tenant_id, {a: "Sales-Premium", b: "Sales-Essentials + Service-Premium"})
    with db.read() as session:
        seats = {s.module_name: s for s in login_licenses_bought(session, tenant_id)}
    assert set(seats) == {"user", "web"}
    # Hidden implied licenses get the sum of the seats of the plans implying them.
    assert seats["user"].bought == 6 * 4
    assert seats["user"].in_use == 2 and seats["web"].in_use == 2


def test_approach_two_counts_plan_licenses_in_use(db, tenant_id):
    make_tenant(db, tenant_id, seats=4)
    a, b, c = add_associates(db, tenant_id, 3)
    give(
        db,
        tenant_id,
        {a: "Sales-Premium", b: "Sales-Premium + Service-Premium", c: "Marketing-Essentials"},
    )
    with db.read() as session:
        usage = {
            s.module_name: (s.bought, s.in_use, s.free) for s in plans_in_use(session, tenant_id)
        }
    assert usage == {
        "sales-essentials": (4, 0, 4),
        "sales-premium": (4, 2, 2),
        "service-essentials": (4, 0, 4),
        "service-premium": (4, 1, 3),
        "marketing-essentials": (4, 1, 3),
        "marketing-premium": (4, 0, 4),
    }


def test_pay_per_use_counts_plans_and_combinations_of_active_users(db, tenant_id):
    make_tenant(db, tenant_id, seats=1, unrestricted=True)
    a, b, c, d = add_associates(db, tenant_id, 4)
    give(
        db,
        tenant_id,
        {
            a: "Sales-Premium",
            b: "Sales-Premium + Service-Essentials",
            c: "Service-Essentials + Sales-Premium",
            d: "Marketing-Premium",
        },
    )
    with db.read() as session:
        usage = billable_usage(session, tenant_id)
    assert usage.per_plan == {"Sales-Premium": 3, "Service-Essentials": 2, "Marketing-Premium": 1}
    assert usage.per_combination == {
        "Sales-Premium": 1,
        "Sales-Premium + Service-Essentials": 2,
        "Marketing-Premium": 1,
    }
    assert usage.users == 4 and usage.plan_licenses == 6


def test_pay_per_use_ignores_retired_users_and_zero_license_links(db, tenant_id):
    make_tenant(db, tenant_id, seats=5)
    a, b, c = add_associates(db, tenant_id, 3)
    give(db, tenant_id, {a: "Sales-Premium", b: "Sales-Premium", c: "Sales-Premium"})
    with db.write() as session:
        session.execute(update(Associate).where(Associate.id == b).values(deleted=True))
        session.execute(
            update(LicenseAssocLink).where(LicenseAssocLink.assoc_id == c).values(license_number=0)
        )
    with db.read() as session:
        usage = billable_usage(session, tenant_id)
    assert usage.per_plan == {"Sales-Premium": 1}
    assert usage.users == 1


def test_pay_per_use_for_all_tenants_yields_each_tenant(db, tenant_id):
    make_tenant(db, tenant_id)
    [a] = add_associates(db, tenant_id, 1)
    give(db, tenant_id, {a: "Service-Premium"})
    with db.read() as session:
        mine = [u for u in billable_usage_all(session) if u.tenant_id == tenant_id]
    assert [u.per_plan for u in mine] == [{"Service-Premium": 1}]
