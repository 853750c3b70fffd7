"""The assignment engine: plans become exactly the links they require, within seats."""

from __future__ import annotations

from sqlalchemy import select

from licensing_core.ledger import replay
from licensing_core.license_set import load_default
from licensing_core.plans import NO_SELECTION, Combination, plan_named
from licensing_core.tables import LedgerEntry, ModuleLicense
from tests import licensing_helpers as helpers
from tests.licensing_helpers import NOW, add_associates, current_links, make_tenant, over_assigned


def held_names(db, tenant_id, assoc_id) -> set[str]:
    with db.read() as session:
        return helpers.held_names(session, tenant_id, assoc_id)


def assign(db, tenant_id, assoc_id, text):
    with db.write() as session:
        return helpers.assign(session, tenant_id, assoc_id, text)


def expected_modules(*plans: str) -> set[str]:
    spec = load_default()
    names: set[str] = set()
    for name in plans:
        plan = plan_named(name)
        names.add(plan.module_name)
        names.update(spec.implied(plan))
    return names


def test_a_plan_grants_its_module_and_every_implied_license(db, tenant_id):
    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    result = assign(db, tenant_id, user, "Sales-Premium")
    assert result.complete and result.granted == Combination.parse("Sales-Premium")
    assert held_names(db, tenant_id, user) == expected_modules("Sales-Premium")
    assert {"user", "web", "t2", "sales-premium"} <= held_names(db, tenant_id, user)


def test_multi_plan_user_holds_shared_implied_licenses_once(db, tenant_id):
    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    assign(db, tenant_id, user, "Sales-Premium + Service-Essentials")
    with db.read() as session:
        links = current_links(session, tenant_id)
        user_module = session.execute(
            select(ModuleLicense.id).where(
                ModuleLicense.tenant_id == tenant_id, ModuleLicense.module_name == "user"
            )
        ).scalar_one()
    assert links[(user_module, user)] == 1
    assert held_names(db, tenant_id, user) == expected_modules(
        "Sales-Premium", "Service-Essentials"
    )


def test_implied_license_shared_by_two_plans_stays_while_either_plan_stays(db, tenant_id):
    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    assign(db, tenant_id, user, "Sales-Premium + Service-Premium")
    assign(db, tenant_id, user, "Service-Premium")
    held = held_names(db, tenant_id, user)
    assert held == expected_modules("Service-Premium")
    assert "sales-premium" not in held and {"user", "web"} <= held


def test_no_selection_releases_every_license(db, tenant_id):
    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    assign(db, tenant_id, user, "Sales-Essentials + Marketing-Premium")
    result = assign(db, tenant_id, user, "")
    assert held_names(db, tenant_id, user) == set()
    assert "user" in result.removed


def test_plan_refused_when_no_seat_is_left_and_nothing_of_it_is_granted(db, tenant_id):
    make_tenant(db, tenant_id, seats=1)
    first, second = add_associates(db, tenant_id, 2)
    assign(db, tenant_id, first, "Sales-Premium")
    result = assign(db, tenant_id, second, "Sales-Premium")
    assert not result.complete
    [refusal] = result.refused
    assert refusal.plan == plan_named("Sales-Premium")
    assert refusal.module_name == "sales-premium"
    assert "no free seat" in refusal.reason
    assert held_names(db, tenant_id, second) == set()


def test_one_plan_refused_other_plans_of_the_combination_still_granted(db, tenant_id):
    make_tenant(db, tenant_id, seats={"Sales-Premium": 1, "Service-Essentials": 5})
    first, second = add_associates(db, tenant_id, 2)
    assign(db, tenant_id, first, "Sales-Premium")
    result = assign(db, tenant_id, second, "Sales-Premium + Service-Essentials")
    assert result.granted == Combination.parse("Service-Essentials")
    assert [r.plan.name for r in result.refused] == ["Sales-Premium"]
    assert held_names(db, tenant_id, second) == expected_modules("Service-Essentials")


def test_downgrade_releases_premium_before_granting_essentials(db, tenant_id):
    make_tenant(db, tenant_id, seats=1)
    [user] = add_associates(db, tenant_id, 1)
    assign(db, tenant_id, user, "Sales-Premium")
    result = assign(db, tenant_id, user, "Sales-Essentials")
    assert result.complete
    assert held_names(db, tenant_id, user) == expected_modules("Sales-Essentials")


def test_unrestricted_modules_have_no_seat_limit(db, tenant_id):
    make_tenant(db, tenant_id, seats=1, unrestricted=True)
    users = add_associates(db, tenant_id, 3)
    for user in users:
        assert assign(db, tenant_id, user, "Marketing-Premium").complete
    with db.read() as session:
        assert over_assigned(session, tenant_id) == []


def test_reassigning_the_same_plans_changes_nothing(db, tenant_id):
    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    assign(db, tenant_id, user, "Sales-Premium")
    assert assign(db, tenant_id, user, "Sales-Premium") is None, (
        "an unchanged request is left alone"
    )
    with db.read() as session:
        events = session.execute(
            select(LedgerEntry.event).where(LedgerEntry.tenant_id == tenant_id)
        ).all()
    assert {e for (e,) in events} == {"grant"}


def test_every_grant_and_release_is_in_the_ledger_and_replays_to_the_links(db, tenant_id):
    make_tenant(db, tenant_id)
    users = add_associates(db, tenant_id, 3)
    assign(db, tenant_id, users[0], "Sales-Premium + Service-Premium")
    assign(db, tenant_id, users[1], "Marketing-Essentials")
    assign(db, tenant_id, users[0], "Service-Premium")
    assign(db, tenant_id, users[1], "")
    with db.read() as session:
        assert replay(session, tenant_id) == current_links(session, tenant_id)
        assert over_assigned(session, tenant_id) == []


def test_ledger_replay_until_an_instant_gives_the_links_held_then(db, tenant_id):
    from datetime import timedelta

    make_tenant(db, tenant_id)
    [user] = add_associates(db, tenant_id, 1)
    with db.write() as session:
        helpers.assign(session, tenant_id, user, "Sales-Premium")
    with db.read() as session:
        held_then = current_links(session, tenant_id)
    later = NOW + timedelta(days=3)
    with db.write() as session:
        helpers.assign(session, tenant_id, user, NO_SELECTION, at=later)
    with db.read() as session:
        assert replay(session, tenant_id, until=NOW + timedelta(days=1)) == held_then
        assert replay(session, tenant_id, until=later) == {}


def test_a_tenant_never_sees_another_tenants_modules(db, tenant_id):
    other = tenant_id + "-b"
    make_tenant(db, tenant_id, seats=1)
    make_tenant(db, other, seats=1)
    [mine] = add_associates(db, tenant_id, 1)
    assert assign(db, tenant_id, mine, "Sales-Premium").complete
    with db.read() as session:
        assert current_links(session, other) == {}
