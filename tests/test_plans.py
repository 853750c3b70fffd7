"""The plan catalog: six base plans, at most one tier per solution, 26 valid sets."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing_core.errors import InvalidCombination
from licensing_core.plans import (
    ALL_COMBINATIONS,
    BASE_PLANS,
    LISTED_COMBINATIONS,
    NO_SELECTION,
    Combination,
    Plan,
    Solution,
    Tier,
    plan_for_module,
    plan_named,
)

# Copied from the Norwegian help page (docs/licensing.md §1): the base plans and
# "Disse kan kombineres til".
NORWEGIAN_SEED_PLANS = [
    "Sales-Essentials",
    "Sales-Premium",
    "Service-Essentials",
    "Service-Premium",
    "Marketing-Essentials",
    "Marketing-Premium",
]
NORWEGIAN_SEED_COMBINATIONS = [
    "Sales-Essentials + Service-Essentials",
    "Sales-Essentials + Service-Essentials + Marketing-Essentials",
    "Sales-Essentials + Service-Essentials + Marketing-Premium",
    "Sales-Essentials + Service-Premium",
    "Sales-Essentials + Service-Premium + Marketing-Essentials",
    "Sales-Essentials + Service-Premium + Marketing-Premium",
    "Sales-Essentials + Marketing-Essentials",
    "Sales-Essentials + Marketing-Premium",
    "Sales-Premium + Service-Essentials",
    "Sales-Premium + Service-Essentials + Marketing-Essentials",
    "Sales-Premium + Service-Essentials + Marketing-Premium",
    "Sales-Premium + Service-Premium",
    "Sales-Premium + Service-Premium + Marketing-Essentials",
    "Sales-Premium + Service-Premium + Marketing-Premium",
    "Sales-Premium + Marketing-Essentials",
    "Sales-Premium + Marketing-Premium",
    "Service-Essentials + Marketing-Essentials",
    "Service-Essentials + Marketing-Premium",
    "Service-Premium + Marketing-Essentials",
    "Service-Premium + Marketing-Premium",
]


def test_there_are_six_base_plans_named_as_the_seeds_name_them():
    assert [p.name for p in BASE_PLANS] == NORWEGIAN_SEED_PLANS


def test_there_are_exactly_26_valid_combinations():
    assert len(ALL_COMBINATIONS) == 26
    assert len(set(ALL_COMBINATIONS)) == 26


def test_valid_combinations_are_the_six_plans_and_the_twenty_the_norwegian_seed_lists():
    names = {c.name for c in ALL_COMBINATIONS}
    assert names == set(NORWEGIAN_SEED_PLANS) | set(NORWEGIAN_SEED_COMBINATIONS)
    assert len(NORWEGIAN_SEED_COMBINATIONS) == 20


def test_every_seed_combination_parses_and_displays_exactly_as_written():
    for name in NORWEGIAN_SEED_PLANS + NORWEGIAN_SEED_COMBINATIONS:
        assert Combination.parse(name).name == name


def test_listed_combinations_follow_the_order_the_seeds_print():
    listed = [c.name for c in LISTED_COMBINATIONS]
    assert listed == NORWEGIAN_SEED_PLANS + NORWEGIAN_SEED_COMBINATIONS
    assert set(LISTED_COMBINATIONS) == set(ALL_COMBINATIONS)


def test_valid_combinations_are_ordered_singles_first():
    assert [c.name for c in ALL_COMBINATIONS[:6]] == NORWEGIAN_SEED_PLANS
    assert [len(c) for c in ALL_COMBINATIONS] == sorted(len(c) for c in ALL_COMBINATIONS)


@pytest.mark.parametrize("solution", list(Solution))
def test_two_tiers_of_the_same_solution_are_rejected_naming_the_conflict(solution):
    essentials, premium = Plan(solution, Tier.ESSENTIALS), Plan(solution, Tier.PREMIUM)
    message = (
        f"{essentials.name} and {premium.name} conflict: "
        f"a combination holds at most one tier of {solution.value}"
    )
    with pytest.raises(InvalidCombination) as caught:
        Combination.of([essentials, premium])
    assert str(caught.value) == message
    with pytest.raises(InvalidCombination) as caught:
        Combination.parse(f"{premium.name} + {essentials.name}")
    assert str(caught.value) == message


def test_every_set_with_two_tiers_of_one_solution_is_rejected():
    for size in range(2, len(BASE_PLANS) + 1):
        for plans in itertools.combinations(BASE_PLANS, size):
            solutions = [p.solution for p in plans]
            if len(set(solutions)) == len(solutions):
                assert Combination.of(plans) in ALL_COMBINATIONS
                continue
            with pytest.raises(InvalidCombination, match="conflict"):
                Combination.of(plans)


@pytest.mark.parametrize("text", ["Sales-Gold", "Sales-Premium + Support-Premium", "Sales"])
def test_unknown_plan_names_are_rejected_naming_the_name(text):
    unknown = text.split("+")[-1].strip()
    with pytest.raises(InvalidCombination, match=f"unknown plan '{unknown}'"):
        Combination.parse(text)


def test_unknown_plan_message_lists_the_plans():
    with pytest.raises(InvalidCombination, match="the plans are Sales-Essentials, Sales-Premium"):
        plan_named("Sales-Gold")


@pytest.mark.parametrize(
    "text",
    [
        "sales-premium + SERVICE-ESSENTIALS",
        "  Sales-Premium+Service-Essentials  ",
        "Service-Essentials +\tsales-PREMIUM",
    ],
)
def test_parsing_is_case_insensitive_and_whitespace_tolerant(text):
    assert Combination.parse(text).name == "Sales-Premium + Service-Essentials"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty plan combination"),
        ("   ", "empty plan combination"),
        ("Sales-Premium + ", "empty plan name"),
        ("Sales-Premium + sales-premium", "Sales-Premium is listed twice"),
    ],
)
def test_empty_and_repeated_names_are_rejected(text, message):
    with pytest.raises(InvalidCombination, match=message):
        Combination.parse(text)


def test_display_order_is_sales_service_marketing():
    combo = Combination.parse("Marketing-Premium + Sales-Premium + Service-Essentials")
    assert combo.name == "Sales-Premium + Service-Essentials + Marketing-Premium"
    assert [p.solution for p in combo] == [Solution.SALES, Solution.SERVICE, Solution.MARKETING]


def test_no_selection_is_empty_and_displays_as_such():
    assert NO_SELECTION.is_empty
    assert NO_SELECTION.name == ""
    assert str(NO_SELECTION) == "(no selection)"


def test_plan_module_names_are_lower_case_plan_names():
    assert [p.module_name for p in BASE_PLANS] == [n.lower() for n in NORWEGIAN_SEED_PLANS]
    for plan in BASE_PLANS:
        assert plan_for_module(plan.module_name) == plan
    assert plan_for_module("user") is None


def test_merge_keeps_the_highest_tier_per_solution():
    a = Combination.parse("Sales-Essentials + Marketing-Premium")
    b = Combination.parse("Sales-Premium + Service-Essentials + Marketing-Essentials")
    assert a.merge(b).name == "Sales-Premium + Service-Essentials + Marketing-Premium"


def test_merge_with_no_selection_changes_nothing():
    combo = Combination.parse("Service-Premium")
    assert combo.merge(NO_SELECTION) == combo
    assert NO_SELECTION.merge(combo) == combo


combinations = st.sampled_from([NO_SELECTION, *ALL_COMBINATIONS])


@given(combinations, combinations)
def test_merge_is_commutative(a, b):
    assert a.merge(b) == b.merge(a)


@given(combinations, combinations, combinations)
def test_merge_is_associative(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(combinations)
def test_merge_is_idempotent(a):
    assert a.merge(a) == a


@given(combinations, combinations)
def test_merge_always_yields_a_valid_combination(a, b):
    merged = a.merge(b)
    assert merged == NO_SELECTION or merged in ALL_COMBINATIONS
    for plan in merged:
        held = [p.tier for p in itertools.chain(a, b) if p.solution == plan.solution]
        assert plan.tier == max(held)
    assert {p.solution for p in merged} == {p.solution for p in itertools.chain(a, b)}
