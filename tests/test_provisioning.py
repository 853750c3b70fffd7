"""Group-to-plan provisioning through the store: every change recomputes exactly
the affected users in its own transaction, within the seats bought."""

from __future__ import annotations

from licensing_core.counting import billable_usage
from tests.provisioning_helpers import Directory


def test_adding_a_user_to_a_plan_group_grants_the_plan(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    group = d.create_group("Sales-Premium")
    d.add(group, alice)
    assert d.state(alice) == ("licensed", "Sales-Premium", "")


def test_a_user_in_two_plan_groups_becomes_a_multi_plan_user(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    d.create_group("Sales-Premium", [alice])
    d.create_group("Service-Essentials", [alice])
    assert d.state(alice)[1] == "Sales-Premium + Service-Essentials"
    with db.read() as session:
        assert billable_usage(session, tenant_id).per_combination == {
            "Sales-Premium + Service-Essentials": 1
        }


def test_removing_the_member_releases_the_plan(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    group = d.create_group("Marketing-Premium", [alice])
    d.remove(group, alice)
    assert d.state(alice) == ("none", "", "")


def test_renaming_a_group_recomputes_its_members(db, tenant_id):
    d = Directory(db, tenant_id)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    group = d.create_group("Engineering", [alice, bob])
    assert d.state(alice)[0] == "none"
    d.rename(group, "Service-Premium")
    assert d.state(alice)[1] == d.state(bob)[1] == "Service-Premium"
    d.rename(group, "Engineering")
    assert d.state(bob) == ("none", "", "")


def test_deleting_a_group_releases_its_members_plans(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    group = d.create_group("Sales-Essentials", [alice])
    d.delete_group(group)
    assert d.state(alice) == ("none", "", "")


def test_deactivation_retires_and_releases_everything_reactivation_restores(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    d.create_group("Sales-Premium", [alice])
    d.set_active(alice, False)
    assert d.state(alice) == ("none", "", "")
    d.set_active(alice, True)
    assert d.state(alice) == ("licensed", "Sales-Premium", "")


def test_deleting_a_user_leaves_no_orphan_link(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice")
    d.create_group("Sales-Premium + Service-Premium", [alice])
    d.delete_user(alice)
    with db.read() as session:
        assert billable_usage(session, tenant_id).users == 0


def test_seat_shortage_keeps_the_write_and_marks_the_user_pending(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    group = d.create_group("Sales-Premium", [alice])
    d.add(group, bob)
    state, granted, reason = d.state(bob)
    assert (state, granted) == ("pending", "")
    assert "Sales-Premium" in reason and "no free seat" in reason


def test_pending_users_are_served_first_waiting_first_served_when_seats_free(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob, carol = (d.create_user(n) for n in ("alice", "bob", "carol"))
    group = d.create_group("Sales-Premium", [alice])
    d.add(group, bob)
    d.add(group, carol)
    assert d.state(bob)[0] == d.state(carol)[0] == "pending"
    d.remove(group, alice)
    assert d.state(bob)[0] == "licensed"
    assert d.state(carol)[0] == "pending"
    d.set_active(bob, False)
    assert d.state(carol)[0] == "licensed"


def test_partial_grant_keeps_the_plans_with_seats_and_waits_for_the_rest(db, tenant_id):
    d = Directory(db, tenant_id, seats=1)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Service-Premium", [alice])
    d.create_group("Sales-Premium + Service-Premium", [bob])
    assert d.state(bob)[:2] == ("pending", "Sales-Premium")


def test_role_named_as_a_plan_grants_it(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice", roles=["Marketing-Essentials"])
    assert d.state(alice) == ("licensed", "Marketing-Essentials", "")


def test_inactive_user_created_holds_nothing(db, tenant_id):
    d = Directory(db, tenant_id)
    alice = d.create_user("alice", active=False, roles=["Sales-Premium"])
    assert d.state(alice) == ("none", "", "")
