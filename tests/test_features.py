"""Plan feature lists, in the help pages' words, per language."""

from __future__ import annotations

import pytest

from licensing_core.errors import InvalidCombination
from licensing_core.features import LANGUAGES, features
from licensing_core.plans import BASE_PLANS, Plan, Solution, Tier, plan_named

COMMON_EN = [
    "Contact management",
    "Companies and contacts",
    "Relations",
    "Custom fields",
    "Consent management",
    "Calendar",
    "Diary and invitations",
    "Video meeting integration",
    "Mobile CRM",
    "Document management",
    "Documents and templates",
    "Language support",
    "MS SharePoint documents",
    "Google Workplace documents",
    "Email",
    "SuperOffice inbox",
    "SuperOffice for Outlook 365",
    "SuperOffice for Google",
    "Search / Selections",
    "Static Selections",
    "Dynamic selections",
    "Selection tasks",
    "Send email to (max 500)",
    "Reporting and dashboards",
    "Dashboards with default charts",
    "Standard reports",
    "Print",
]

SALES_ESSENTIALS_EN = [
    "Sales and opportunity management",
    "Sales forecasting",
    "Dashboards with default tiles",
    "Currency support",
    "Sales secretary",
]

SALES_PREMIUM_EN = [
    "Sales guide",
    "Sales forecasting on product level",
    "Dashboards with custom tiles",
    "Stakeholders",
    "Sale targets and KPIs",
    "Activity Monitors (SAINT)",
    "Combined selections",
    "Project management",
    "Quote Management",
]


def test_the_four_seed_languages_are_offered():
    assert LANGUAGES == ("en", "no", "de", "nl")


def test_english_is_the_default_language():
    plan = plan_named("Sales-Essentials")
    assert features(plan) == features(plan, "en")


def test_sales_essentials_is_the_common_features_plus_sales_essentials():
    assert features(plan_named("Sales-Essentials")) == COMMON_EN + SALES_ESSENTIALS_EN


def test_premium_includes_the_essentials_features_of_its_solution():
    assert features(plan_named("Sales-Premium")) == (
        COMMON_EN + SALES_ESSENTIALS_EN + SALES_PREMIUM_EN
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("solution", list(Solution))
def test_every_premium_list_extends_its_essentials_list(solution, language):
    essentials = features(Plan(solution, Tier.ESSENTIALS), language)
    premium = features(Plan(solution, Tier.PREMIUM), language)
    assert premium[: len(essentials)] == essentials
    assert len(premium) > len(essentials)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("plan", BASE_PLANS, ids=str)
def test_every_plan_starts_with_the_common_features_of_its_language(plan, language):
    common = features(Plan(Solution.SALES, Tier.ESSENTIALS), language)[: -len(SALES_ESSENTIALS_EN)]
    assert features(plan, language)[: len(common)] == common


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("plan", BASE_PLANS, ids=str)
def test_no_feature_is_listed_twice(plan, language):
    listed = features(plan, language)
    assert len(listed) == len(set(listed))
    assert all(isinstance(item, str) and item.strip() == item and item for item in listed)


def test_english_marketing_premium_is_the_english_marketing_list_plus_marketing_automation():
    essentials = features(plan_named("Marketing-Essentials"))
    assert features(plan_named("Marketing-Premium")) == [
        *essentials,
        "Marketing automation (flows)",
    ]
    assert essentials[len(COMMON_EN)] == "Mailings (personalized mass email)"
    assert essentials[-1] == "Project management"


@pytest.mark.parametrize(
    ("language", "automation"),
    [
        ("no", "Marketing automation (flyter)"),
        ("de", "Marketing Automation (Workflows)"),
        ("nl", "Marketingautomatisering (flows)"),
    ],
)
def test_marketing_premium_adds_marketing_automation_in_every_language(language, automation):
    premium = features(plan_named("Marketing-Premium"), language)
    assert premium == [*features(plan_named("Marketing-Essentials"), language), automation]


def test_seed_wording_is_kept_per_language():
    assert "Aktivitetsmonitorer (SAINT)" in features(plan_named("Sales-Premium"), "no")
    assert "Aktivitätsüberwachung (SAINT)" in features(plan_named("Service-Premium"), "de")
    assert "Offertebeheer" in features(plan_named("Sales-Premium"), "nl")
    assert "Warnungen und Benachrichtigungen – Zeitlimits" in features(
        plan_named("Service-Premium"), "de"
    )


def test_english_mojibake_is_fixed():
    service = features(plan_named("Service-Premium"))
    assert "Warnings and notifications – Time limits" in service
    assert "Diary and invitations" in service
    assert not any("â€" in item or "taInvitations" in item for item in service)


def test_only_the_english_seed_lists_standard_reports_among_common_features():
    assert "Standard reports" in features(plan_named("Sales-Essentials"), "en")
    assert len(features(plan_named("Sales-Essentials"), "no")) == len(COMMON_EN) - 1 + 5


def test_essentials_does_not_include_premium_features():
    assert "Sales guide" not in features(plan_named("Sales-Essentials"))
    assert "Knowledge base (FAQs)" not in features(plan_named("Service-Essentials"))


def test_plan_may_be_given_by_name_case_insensitively():
    assert features("sales-premium") == features(plan_named("Sales-Premium"))


def test_unknown_language_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"unknown feature language 'sv'.*en, no, de, nl"):
        features(plan_named("Sales-Premium"), "sv")


def test_unknown_plan_name_is_rejected():
    with pytest.raises(InvalidCombination, match="unknown plan 'Sales-Gold'"):
        features("Sales-Gold")


def test_returned_list_is_a_fresh_copy():
    first = features(plan_named("Sales-Essentials"))
    first.append("tampered")
    assert "tampered" not in features(plan_named("Sales-Essentials"))
