"""Rule evaluation: which plans a user should hold from groups, roles and ordered rules."""

from __future__ import annotations

import pytest

from licensing_core.plans import NO_SELECTION, Combination
from scimsrv.provisioning.rules import Rule, UserFacts, check_rule_fields, requested_plans


def rule(position, scope, target="", plans="", mode="always", by="displayName", enabled=True):
    return Rule(
        id=position,
        position=position,
        scope=scope,
        target=target,
        target_by=by,
        plans=Combination.parse(plans) if plans else NO_SELECTION,
        mode=mode,
        enabled=enabled,
    )


def user(*groups, roles=(), active=True, ext=None):
    return UserFacts.of(active, [(g, (ext or {}).get(g)) for g in groups], roles)


def plans(text):
    return Combination.parse(text)


def test_group_named_as_a_plan_grants_it_case_insensitively():
    assert requested_plans(user("sales-premium"), []) == plans("Sales-Premium")


def test_group_named_as_a_combination_grants_the_combination():
    got = requested_plans(user("Sales-Essentials + service-premium"), [])
    assert got == plans("Sales-Essentials + Service-Premium")


def test_groups_that_name_no_plan_grant_nothing():
    assert requested_plans(user("Engineering", "All staff"), []) == NO_SELECTION


def test_user_in_several_plan_groups_gets_the_union_highest_tier_per_solution():
    got = requested_plans(user("Sales-Essentials", "Sales-Premium", "Marketing-Essentials"), [])
    assert got == plans("Sales-Premium + Marketing-Essentials")


def test_role_value_named_as_a_plan_grants_it():
    assert requested_plans(user(roles=["Service-Premium"]), []) == plans("Service-Premium")


def test_inactive_user_holds_nothing_whatever_the_groups():
    assert requested_plans(user("Sales-Premium", active=False), []) == NO_SELECTION


def test_if_not_set_rule_gives_a_default_only_when_nothing_is_set():
    rules = [rule(1, "all", plans="Sales-Essentials", mode="if-not-set")]
    assert requested_plans(user("Engineering"), rules) == plans("Sales-Essentials")
    assert requested_plans(user("Service-Premium"), rules) == plans("Service-Premium")


def test_always_rule_with_no_selection_clears_what_earlier_rules_set():
    rules = [
        rule(1, "in-group", "Support", plans="Service-Premium"),
        rule(2, "not-in-group", "CRM users", plans=""),
    ]
    assert requested_plans(user("Support"), rules) == NO_SELECTION
    assert requested_plans(user("Support", "crm USERS"), rules) == plans("Service-Premium")


def test_always_rule_adds_its_plans_to_those_set_before():
    rules = [rule(1, "in-group", "Support", plans="Service-Premium")]
    got = requested_plans(user("Support", "Sales-Premium"), rules)
    assert got == plans("Sales-Premium + Service-Premium")


def test_rules_apply_in_position_order_whatever_the_list_order():
    rules = [
        rule(2, "all", plans="Marketing-Essentials", mode="if-not-set"),
        rule(1, "in-group", "Sales", plans="Sales-Premium"),
    ]
    assert requested_plans(user("Sales"), rules) == plans("Sales-Premium")
    assert requested_plans(user(), rules) == plans("Marketing-Essentials")


def test_group_can_be_named_by_external_id():
    rules = [rule(1, "in-group", "obj-123", plans="Sales-Premium", by="externalId")]
    assert requested_plans(user("Renamed", ext={"Renamed": "obj-123"}), rules) == plans(
        "Sales-Premium"
    )
    assert requested_plans(user("obj-123"), rules) == NO_SELECTION


def test_role_rules_match_users_with_and_without_the_role():
    rules = [
        rule(1, "has-role", "Agent", plans="Service-Essentials"),
        rule(2, "not-has-role", "Agent", plans="Sales-Essentials"),
    ]
    assert requested_plans(user(roles=["agent"]), rules) == plans("Service-Essentials")
    assert requested_plans(user(), rules) == plans("Sales-Essentials")


def test_disabled_rules_are_ignored():
    rules = [rule(1, "all", plans="Sales-Premium", enabled=False)]
    assert requested_plans(user(), rules) == NO_SELECTION


@pytest.mark.parametrize(
    ("scope", "target", "plans_text", "mode", "message"),
    [
        ("everyone", "", "", "always", "unknown scope"),
        ("in-group", "", "", "always", "needs a group or role"),
        ("all", "", "", "sometimes", "unknown mode"),
        ("all", "", "Sales-Premium + Sales-Essentials", "always", "conflict"),
    ],
)
def test_invalid_rule_fields_are_refused_with_the_reason(scope, target, plans_text, mode, message):
    with pytest.raises(ValueError, match=message):
        check_rule_fields(scope, target, plans_text, mode)
