"""Why a user holds its plans or none, and what a group grants, in words: computed
from the user's groups, roles, active flag and the tenant's rules."""

from __future__ import annotations

import pytest

from licensing_core.tables import LICENSED, NO_PLAN, PENDING
from scimsrv.provisioning.reasons import (
    DEACTIVATED,
    NOTHING,
    group_grants,
    name_problem,
    user_reason,
)
from scimsrv.provisioning.rules import UserFacts, decide
from tests.test_plan_rules import plans, rule


def reason(state, *groups, roles=(), active=True, rules=(), stored="", ext=None):
    facts = UserFacts.of(active, [(g, (ext or {}).get(g)) for g in groups], roles)
    return user_reason(state, stored, facts, list(groups), list(roles), list(rules))


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Sales Premium", "is not a plan name: did you mean 'Sales-Premium'?"),
        ("salespremium", "is not a plan name: did you mean 'Sales-Premium'?"),
        ("Service-Premum", "is not a plan name: did you mean 'Service-Premium'?"),
        (
            "Sales Premium + Service Essentials",
            "is not a plan name: did you mean 'Sales-Premium + Service-Essentials'?",
        ),
        ("Sales-Premium + Sales-Essentials", "names two tiers of Sales"),
        ("Marketing-Essentials + Marketing-Premium", "names two tiers of Marketing"),
        ("Sales-Premium + sales-premium", "lists Sales-Premium twice"),
    ],
)
def test_names_that_look_like_plans_say_why_they_grant_none(name, problem):
    assert name_problem(name) == problem


@pytest.mark.parametrize("name", ["Sales-Premium", "sales-essentials + SERVICE-premium"])
def test_plan_names_have_no_problem(name):
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["Engineering", "Marketing", "All staff", "Sales"])
def test_names_far_from_any_plan_get_no_did_you_mean(name):
    assert name_problem(name) is None


def test_a_deactivated_user_holds_none_because_it_is_deactivated():
    assert reason(NO_PLAN, "Sales-Premium", active=False) == DEACTIVATED


def test_a_user_in_no_plan_group_holds_none_because_nothing_grants_one():
    assert reason(NO_PLAN, "Engineering", "All staff") == NOTHING
    assert reason(NO_PLAN) == NOTHING


def test_a_near_miss_group_name_gets_a_did_you_mean():
    assert reason(NO_PLAN, "Sales Premium", "Engineering") == (
        "group 'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?"
    )


def test_a_group_naming_two_tiers_says_so():
    assert reason(NO_PLAN, "Sales-Premium + Sales-Essentials") == (
        "group 'Sales-Premium + Sales-Essentials' names two tiers of Sales"
    )


def test_role_values_are_diagnosed_like_group_names():
    assert reason(NO_PLAN, roles=["Service Premium"]) == (
        "role 'Service Premium' is not a plan name: did you mean 'Service-Premium'?"
    )


def test_a_rule_clearing_what_a_group_grants_is_named_with_what_it_cleared():
    rules = [rule(1, "in-group", "Interns", plans="")]
    assert reason(NO_PLAN, "Sales-Premium", "Interns", rules=rules) == (
        "rule 1 clears Sales-Premium: users in group 'Interns' -> no selection (always)"
    )


def test_a_clearing_rule_that_cleared_nothing_is_not_the_reason():
    rules = [rule(1, "all", plans=""), rule(2, "in-group", "Sales Premium", enabled=False)]
    assert reason(NO_PLAN, "Sales Premium", rules=rules) == (
        "group 'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?"
    )


def test_a_disabled_rule_that_would_grant_plans_is_named():
    rules = [rule(3, "in-group", "Support", plans="Service-Premium", enabled=False)]
    assert reason(NO_PLAN, "Support", rules=rules) == (
        "rule 3 would grant Service-Premium but is disabled"
    )


def test_every_hint_is_given_at_once():
    rules = [rule(2, "has-role", "agent", plans="Service-Essentials", enabled=False)]
    assert reason(NO_PLAN, "Sales Premium", roles=["agent"], rules=rules) == (
        "group 'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?; "
        "rule 2 would grant Service-Essentials but is disabled"
    )


def test_a_none_state_the_rules_no_longer_agree_with_says_what_they_ask():
    assert reason(NO_PLAN, "Sales-Premium") == (
        "groups and rules ask for Sales-Premium: not applied yet"
    )


def test_a_licensed_user_is_told_what_its_plans_come_through():
    rules = [rule(1, "in-group", "Support", plans="Service-Premium")]
    assert reason(LICENSED, "Sales-Premium", "Support", rules=rules) == (
        "through group 'Sales-Premium' and rule 1"
    )
    assert reason(LICENSED, roles=["Sales-Premium"]) == "through role 'Sales-Premium'"


def test_only_what_came_after_the_last_clearing_counts_as_a_source():
    rules = [rule(1, "in-group", "Interns", plans=""), rule(2, "all", plans="Sales-Essentials")]
    assert reason(LICENSED, "Sales-Premium", "Interns", rules=rules) == "through rule 2"


def test_a_pending_user_keeps_the_reason_its_plan_state_stored():
    stored = "Sales-Premium: no free seat on module 'sales-premium': 1 needed, 0 free"
    assert reason(PENDING, "Sales-Premium", stored=stored) == stored


def test_decide_records_each_step_and_agrees_with_requested_plans():
    rules = [rule(1, "in-group", "Interns", plans=""), rule(2, "all", plans="Sales-Essentials")]
    facts = UserFacts.of(True, [("Sales-Premium", None), ("Interns", None)])
    decision = decide(facts, rules)
    assert decision.plans == plans("Sales-Essentials")
    assert [(s.name, s.rule and s.rule.id, s.plans.name) for s in decision.steps] == [
        ("sales-premium", None, "Sales-Premium"),
        (None, 1, ""),
        (None, 2, "Sales-Essentials"),
    ]


def test_a_group_named_as_plans_grants_them_through_its_name():
    found = group_grants("sales-premium + service-essentials", None, [])
    assert [(g.plans.name, g.through) for g in found.grants] == [
        ("Sales-Premium + Service-Essentials", "its name")
    ]
    assert found.reason == ""


def test_a_group_no_plan_name_and_no_rule_grants_nothing_and_says_why():
    found = group_grants("Engineering", None, [])
    assert found.grants == ()
    assert found.reason == "not a plan name; no rule names it"


def test_a_near_miss_group_gets_a_did_you_mean():
    found = group_grants("Sales Premium", None, [])
    assert found.reason == (
        "'Sales Premium' is not a plan name: did you mean 'Sales-Premium'?; no rule names it"
    )


def test_a_group_granting_only_through_rules_says_so():
    rules = [
        rule(1, "in-group", "support", plans="Service-Premium"),
        rule(2, "in-group", "obj-9", plans="Sales-Essentials", mode="if-not-set", by="externalId"),
        rule(3, "in-group", "Other", plans="Marketing-Premium"),
    ]
    found = group_grants("Support", "obj-9", rules)
    assert [(g.plans.name, g.through) for g in found.grants] == [
        ("Service-Premium", "rule 1"),
        ("Sales-Essentials", "rule 2 (if nothing is set)"),
    ]
    assert found.reason == "not a plan name: grants only through rules"


def test_rules_that_name_a_group_without_granting_are_noted():
    rules = [
        rule(1, "in-group", "Sales-Premium", plans="", mode="always"),
        rule(2, "not-in-group", "Sales-Premium", plans="Sales-Essentials"),
        rule(3, "in-group", "Sales-Premium", plans="Service-Premium", enabled=False),
        rule(4, "in-group", "Sales-Premium", plans="", mode="if-not-set"),
    ]
    found = group_grants("Sales-Premium", None, rules)
    assert [g.through for g in found.grants] == ["its name"]
    assert found.reason == (
        "rule 1 clears the plans of its members: users in group 'Sales-Premium' -> "
        "no selection (always); rule 2 is for users not in it: users not in group "
        "'Sales-Premium' -> Sales-Essentials (always); rule 3 names it but is disabled; "
        "rule 4 changes nothing: users in group 'Sales-Premium' -> no selection (if-not-set)"
    )
