"""The license set as data: the default file, strict validation and seat computation."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from importlib import resources

import pytest

from licensing_core.errors import InvalidLicenseSet, UnknownModule
from licensing_core.license_set import (
    LicenseSetSpec,
    ModuleSpec,
    OwnerSpec,
    load_default,
    parse_license_set,
)
from licensing_core.plans import BASE_PLANS, plan_named
from licensing_core.tables import SITE_LICENSE, SYSTEM_LICENSE, USER_LICENSE

# docs/licensing.md §2, as published.
SALES_PREMIUM_SET = (
    "user",
    "web",
    "pocket-crm-cal",
    "selection-cal",
    "relation-cal",
    "report-cal",
    "chat-cal",
    "forms-cal",
    "sale-cal",
    "t2",
    "saint-cal",
    "target-cal",
    "project-cal",
    "quote-cal",
    "guide-cal",
    "stakeholder-cal",
    "dash-cal",
    "selection-combined-cal",
)


def default_json() -> dict:
    path = resources.files("licensing_core").joinpath("data", "default_license_set.json")
    return json.loads(path.read_text(encoding="utf-8"))


def module_json(data: dict, name: str) -> dict:
    return next(m for m in data["modules"] if m["moduleName"] == name)


def small_set(**plan_extra) -> dict:
    """A minimal valid set: one plan implying two hidden user licenses."""
    return {
        "format": 1,
        "owner": {"ownerName": "SUPEROFFICE"},
        "modules": [
            {
                "moduleName": "sales-premium",
                "licenseType": 3,
                "licenseNumber": 4,
                "extraFlags": 1,
                "extraInfo": "set=user,web",
                **plan_extra,
            },
            {"moduleName": "user", "licenseType": 3, "hidden": True},
            {"moduleName": "web", "licenseType": 3, "hidden": True},
        ],
    }


def rejected(data: dict) -> str:
    with pytest.raises(InvalidLicenseSet) as caught:
        parse_license_set(data)
    return str(caught.value)


# --- the default file ---------------------------------------------------------


def test_default_license_set_parses():
    spec = load_default()
    assert isinstance(spec, LicenseSetSpec)
    assert spec.format == 1
    assert spec.owner == OwnerSpec(
        owner_name="SUPEROFFICE", owner_description=spec.owner.owner_description
    )


def test_default_file_documents_its_shape():
    assert "licenseNumber" in default_json()["_comment"]


def test_default_sells_the_six_base_plans_with_ten_seats_each():
    spec = load_default()
    assert spec.plans == BASE_PLANS
    for plan, module in zip(BASE_PLANS, spec.plan_modules, strict=True):
        assert module.module_name == plan.module_name
        assert module.module_description == plan.name
        assert (module.license_type, module.license_number) == (USER_LICENSE, 10)
        assert (module.extra_flags, module.hidden, module.module_version) == (1, False, "1")


def test_default_sales_premium_set_is_exactly_the_documented_list():
    assert load_default().implied("Sales-Premium") == SALES_PREMIUM_SET
    extra_info = module_json(default_json(), "sales-premium")["extraInfo"]
    assert extra_info == "set=" + ",".join(SALES_PREMIUM_SET)


def test_default_sales_essentials_grants_the_documented_minimum_and_tier_one():
    implied = load_default().implied("Sales-Essentials")
    for name in ["user", "web", "pocket-crm-cal", "visible-for", "relation-cal", "sale-cal", "t1"]:
        assert name in implied
    assert "t2" not in implied


@pytest.mark.parametrize("plan", BASE_PLANS, ids=str)
def test_default_every_plan_grants_login_web_and_exactly_its_tier_marker(plan):
    implied = load_default().implied(plan)
    assert {"user", "web"} <= set(implied)
    marker = {1: "t1", 2: "t2"}[plan.tier]
    other = {1: "t2", 2: "t1"}[plan.tier]
    assert marker in implied
    assert other not in implied


def test_default_solution_licenses_follow_the_naming_style():
    spec = load_default()
    assert "ej-client" in spec.implied("Service-Essentials")
    assert "ej-client" in spec.implied("Service-Premium")
    assert "mail-merge-cal" in spec.implied("Marketing-Essentials")
    assert "mail-merge-cal" in spec.implied("Marketing-Premium")
    assert "mktg-auto-cal" in spec.implied("Marketing-Premium")
    assert "mktg-auto-cal" not in spec.implied("Marketing-Essentials")
    for name in ["saint-cal", "selection-combined-cal", "project-cal", "dash-cal"]:
        assert name in spec.implied("Service-Premium")


@pytest.mark.parametrize("solution", ["Sales", "Service", "Marketing"])
def test_default_premium_grants_what_essentials_grants_except_the_tier_marker(solution):
    spec = load_default()
    essentials = set(spec.implied(f"{solution}-Essentials")) - {"t1"}
    premium = set(spec.implied(f"{solution}-Premium"))
    if solution == "Sales":
        # visible-for is documented for Sales-Essentials only; Sales-Premium's
        # documented set lacks it (a discrepancy of the published list, kept as published).
        essentials -= {"visible-for"}
    assert essentials <= premium


def test_default_every_implied_name_has_a_hidden_user_license_row_without_seats():
    spec = load_default()
    implied = {name for plan in spec.plans for name in spec.implied(plan)}
    hidden_user_rows = {
        m.module_name for m in spec.modules if m.license_type == USER_LICENSE and not m.is_plan
    }
    assert implied == hidden_user_rows
    for name in implied:
        row = spec.module(name)
        assert (row.hidden, row.extra_flags, row.license_number) == (True, 0, None)
        assert "licenseNumber" not in module_json(default_json(), name)


def test_default_system_and_site_licenses():
    spec = load_default()
    system = [m.module_name for m in spec.modules if m.license_type == SYSTEM_LICENSE]
    site = [m.module_name for m in spec.modules if m.license_type == SITE_LICENSE]
    assert system == [
        "system",
        "server",
        "ows",
        "saint",
        "exchange-sync",
        "expander",
        "cs",
        "quote",
    ]
    assert site == ["satellite", "reporter-studio", "audience"]
    for name in system + site:
        module = spec.module(name)
        assert module.license_number == 1
        assert module.hidden == (name == "saint")
        assert module.module_description


def test_default_sort_order_is_one_to_n_in_file_order():
    spec = load_default()
    assert [m.sort_order for m in spec.modules] == list(range(1, len(spec.modules) + 1))


def test_default_license_set_has_every_documented_field_on_every_module():
    fields = {
        "moduleName",
        "moduleDescription",
        "moduleVersion",
        "licenseType",
        "hidden",
        "extraFlags",
        "extraInfo",
        "prerequisiteModule",
        "sortOrder",
    }
    for module in default_json()["modules"]:
        assert set(module) - {"licenseNumber"} == fields


# --- validation -----------------------------------------------------------------


def test_small_set_is_valid():
    spec = parse_license_set(small_set())
    assert spec.implied(plan_named("Sales-Premium")) == ("user", "web")
    assert spec.module("user").license_number is None


def test_unknown_license_type_is_rejected_naming_the_module():
    data = small_set()
    data["modules"][1]["licenseType"] = 4
    assert (
        rejected(data)
        == "module 'user' version '1': unknown licenseType 4 (1 system, 2 site, 3 user)"
    )


@pytest.mark.parametrize("number", [0, -3])
def test_license_number_below_one_is_rejected(number):
    data = small_set(licenseNumber=number)
    assert "modules[0] ('sales-premium'): licenseNumber must be >= 1" in rejected(data)


def test_license_number_must_be_an_integer():
    data = small_set(licenseNumber=True)
    assert "modules[0] ('sales-premium'): licenseNumber must be an integer" in rejected(data)


def test_duplicate_module_name_and_version_is_rejected():
    data = small_set()
    data["modules"].append({"moduleName": "web", "licenseType": 3, "licenseNumber": 2})
    assert rejected(data) == "module 'web' version '1' is listed twice"


def test_same_module_in_another_version_is_allowed_when_not_ambiguous():
    data = small_set()
    data["modules"].append({"moduleName": "system", "licenseType": 1, "licenseNumber": 1})
    data["modules"].append(
        {"moduleName": "system", "moduleVersion": "2", "licenseType": 1, "licenseNumber": 1}
    )
    assert len(parse_license_set(data).modules) == 5


def test_plan_set_naming_a_license_with_several_versions_is_ambiguous():
    data = small_set()
    data["modules"].append(
        {"moduleName": "web", "moduleVersion": "2", "licenseType": 3, "licenseNumber": 1}
    )
    assert "its set= names 'web', which is ambiguous" in rejected(data)


@pytest.mark.parametrize(
    ("extra_info", "message"),
    [
        ("user,web", "does not start with 'set='"),
        ("set=user,,web", "empty name at position 2"),
        ("set=user,web,", "trailing comma after 'web'"),
        ("set=user,Web", "upper case"),
        ("set=user,web,user", "'user' is listed twice"),
    ],
)
def test_plan_with_malformed_set_is_rejected_naming_the_plan(extra_info, message):
    text = rejected(small_set(extraInfo=extra_info))
    assert text.startswith("module 'sales-premium' version '1': malformed set= list: ")
    assert message in text


def test_plan_set_naming_a_module_not_in_the_set_is_rejected():
    text = rejected(small_set(extraInfo="set=user,web,chat-cal"))
    assert text == (
        "module 'sales-premium' version '1': its set= names 'chat-cal', "
        "which is not in the license set"
    )


def test_plan_set_naming_a_system_license_is_rejected():
    data = small_set(extraInfo="set=user,web,saint")
    data["modules"].append({"moduleName": "saint", "licenseType": 1, "licenseNumber": 1})
    assert "names 'saint', which is not a user license (licenseType 3)" in rejected(data)


def test_plan_set_naming_another_plan_is_rejected():
    data = small_set(extraInfo="set=user,web,sales-essentials")
    data["modules"].append(
        {
            "moduleName": "sales-essentials",
            "licenseType": 3,
            "licenseNumber": 1,
            "extraFlags": 1,
            "extraInfo": "set=user",
        }
    )
    assert "names 'sales-essentials', which is itself a user plan" in rejected(data)


def test_plan_module_that_is_not_one_of_the_six_plans_is_rejected():
    data = small_set()
    data["modules"][0]["moduleName"] = "sales-gold"
    assert rejected(data).startswith(
        "module 'sales-gold' version '1' has extraFlags 1 (user plan) but is not one of the six "
        "plans (sales-essentials, sales-premium,"
    )


def test_module_named_like_a_plan_without_the_plan_flag_is_rejected():
    data = small_set(extraFlags=0)
    assert "named like the plan Sales-Premium but its extraFlags lacks" in rejected(data)


def test_plan_sold_twice_is_rejected():
    data = small_set()
    data["modules"].append({**data["modules"][0], "moduleVersion": "2"})
    assert "the plan Sales-Premium is already sold" in rejected(data)


def test_plan_must_be_a_user_license():
    assert "a user plan must have licenseType 3" in rejected(small_set(licenseType=1))


def test_plan_must_have_a_license_number():
    data = small_set()
    del data["modules"][0]["licenseNumber"]
    assert rejected(data) == "module 'sales-premium' version '1': a user plan needs a licenseNumber"


def test_user_license_without_number_that_no_plan_implies_is_rejected():
    data = small_set()
    data["modules"].append({"moduleName": "chat-cal", "licenseType": 3, "hidden": True})
    assert rejected(data) == (
        "module 'chat-cal' version '1' has no licenseNumber and no plan implies it, "
        "so its seats cannot be computed"
    )


def test_system_license_without_number_is_rejected():
    data = small_set()
    data["modules"].append({"moduleName": "system", "licenseType": 1})
    assert rejected(data) == "module 'system' version '1' needs a licenseNumber"


def test_unknown_module_field_is_rejected():
    data = small_set()
    data["modules"][1]["licenceNumber"] = 3
    assert rejected(data) == (
        "modules[1] ('user'): 1 unknown field: 'licenceNumber' (known: moduleName, "
        "moduleDescription, moduleVersion, licenseType, licenseNumber, unrestricted, hidden, "
        "extraFlags, extraInfo, prerequisiteModule, sortOrder, signature)"
    )


def test_comment_fields_are_allowed_anywhere():
    data = small_set(_note="why")
    data["_comment"] = "documented"
    data["owner"]["_comment"] = "the issuer"
    assert parse_license_set(data).plans == (plan_named("Sales-Premium"),)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("moduleName", "Sales Premium", "moduleName must match [a-z0-9][a-z0-9-]*"),
        ("hidden", "yes", 'hidden must be true or false, got "yes"'),
        ("extraInfo", None, "extraInfo must be a string, got null"),
        ("moduleVersion", "", "moduleVersion must not be empty"),
        ("sortOrder", 0, "sortOrder must be >= 1"),
        ("extraFlags", -1, "extraFlags must be >= 0"),
    ],
)
def test_module_field_types_are_checked(field, value, message):
    data = small_set()
    data["modules"][2][field] = value
    assert message in rejected(data)


def test_missing_module_name_is_rejected():
    data = small_set()
    del data["modules"][2]["moduleName"]
    assert rejected(data) == "modules[2]: 1 missing field: 'moduleName'"


def test_duplicate_sort_order_is_rejected():
    data = small_set(sortOrder=3)
    assert rejected(data) == (
        "module 'web' version '1': sortOrder 3 is also used by module 'sales-premium' version '1'"
    )


def test_prerequisite_module_must_be_in_the_set():
    data = small_set()
    data["modules"][1]["prerequisiteModule"] = "server"
    assert "prerequisiteModule 'server' is not in the license set" in rejected(data)


@pytest.mark.parametrize("fmt", [2, "1", True, None])
def test_unsupported_format_is_rejected(fmt):
    data = small_set()
    data["format"] = fmt
    assert "unsupported license set format" in rejected(data)


def test_unknown_top_level_field_is_rejected():
    data = small_set()
    data["moduels"] = []
    assert rejected(data) == (
        "the license set: 1 unknown field: 'moduels' (known: format, owner, modules)"
    )


@pytest.mark.parametrize("name", ["superoffice", "", "SUPER OFFICE"])
def test_owner_name_must_be_an_upper_case_code_name(name):
    data = small_set()
    data["owner"]["ownerName"] = name
    assert "ownerName must be an upper-case code name" in rejected(data)


def test_owner_dates_are_iso_dates_stored_as_naive_utc():
    data = small_set()
    data["owner"]["graceTo"] = "2026-03-31"
    data["owner"]["expiration"] = "2026-03-01T12:00:00+01:00"
    owner = parse_license_set(data).owner
    assert owner.grace_to == datetime(2026, 3, 31)
    assert owner.expiration == datetime(2026, 3, 1, 11, 0)
    assert owner.maintenance_to is None


def test_owner_date_that_is_not_iso_is_rejected():
    data = small_set()
    data["owner"]["graceTo"] = "31.03.2026"
    assert rejected(data) == "owner graceTo is not an ISO 8601 date: '31.03.2026'"


def test_spec_built_in_code_is_validated_too():
    plan = ModuleSpec("sales-premium", USER_LICENSE, 5, extra_flags=1, extra_info="set=user")
    with pytest.raises(InvalidLicenseSet, match="names 'user', which is not in the license set"):
        LicenseSetSpec(owner=OwnerSpec("SUPEROFFICE"), modules=(plan,))


def test_implied_of_a_plan_the_set_does_not_sell_is_an_unknown_module():
    spec = parse_license_set(small_set())
    with pytest.raises(UnknownModule, match="no module 'service-premium'"):
        spec.implied("Service-Premium")


def test_parsing_does_not_change_the_input():
    data = default_json()
    before = copy.deepcopy(data)
    parse_license_set(data)
    assert data == before


# --- seats ------------------------------------------------------------------------


def test_with_seats_gives_every_module_a_number():
    spec = load_default().with_seats()
    assert all(m.license_number is not None and m.license_number >= 1 for m in spec.modules)


def test_implied_license_seats_are_the_sum_of_the_seats_of_the_plans_implying_it():
    spec = load_default().with_seats()
    assert spec.module("user").license_number == 60  # every plan implies user
    assert spec.module("quote-cal").license_number == 10  # Sales-Premium only
    assert spec.module("t1").license_number == 30  # the three Essentials plans
    assert spec.module("forms-cal").license_number == 30  # Sales-Premium and Marketing


def test_plan_seats_override_the_plans_and_flow_into_implied_licenses():
    spec = load_default().with_seats({"Sales-Premium": 3, "service-essentials": 100})
    assert spec.plan_module("Sales-Premium").license_number == 3
    assert spec.plan_module("Service-Essentials").license_number == 100
    assert spec.plan_module("Marketing-Premium").license_number == 10
    assert spec.module("quote-cal").license_number == 3
    assert spec.module("ej-client").license_number == 100 + 10
    assert spec.module("user").license_number == 3 + 100 + 4 * 10


def test_with_seats_keeps_system_and_site_numbers_and_does_not_change_the_original():
    original = load_default()
    spec = original.with_seats({"Sales-Premium": 7})
    assert spec.module("system").license_number == 1
    assert spec.module("satellite").license_number == 1
    assert original.module("user").license_number is None
    assert original.plan_module("Sales-Premium").license_number == 10


def test_explicit_number_on_an_implied_license_is_kept():
    data = small_set()
    data["modules"][2]["licenseNumber"] = 2
    spec = parse_license_set(data).with_seats({"Sales-Premium": 9})
    assert spec.module("user").license_number == 9
    assert spec.module("web").license_number == 2


@pytest.mark.parametrize(
    ("plan_seats", "message"),
    [
        ({"Sales-Gold": 1}, "plan seats: unknown plan 'Sales-Gold'"),
        ({"Sales-Premium": 0}, "Sales-Premium needs a whole number of seats >= 1, got 0"),
        ({"Sales-Premium": 2.5}, "got 2.5"),
        ({"Sales-Premium": True}, "got True"),
        ({"Sales-Premium": 1, "SALES-PREMIUM": 2}, "Sales-Premium is given twice"),
        ({"Service-Premium": 5}, "the license set does not sell Service-Premium"),
    ],
)
def test_plan_seats_are_validated(plan_seats, message):
    spec = parse_license_set(small_set())
    with pytest.raises(InvalidLicenseSet, match=message):
        spec.with_seats(plan_seats)


def test_unrestricted_marks_every_user_license_and_keeps_a_positive_number():
    spec = load_default().with_seats(unrestricted=True)
    for module in spec.modules:
        assert module.unrestricted == (module.license_type == USER_LICENSE)
        assert module.license_number is not None and module.license_number > 0


def test_restricted_by_default():
    assert not any(m.unrestricted for m in load_default().with_seats().modules)


def test_unrestricted_may_come_from_the_file():
    data = small_set(unrestricted=True)
    spec = parse_license_set(data).with_seats()
    assert spec.plan_module("Sales-Premium").unrestricted
    assert not spec.module("user").unrestricted


def test_with_seats_result_is_still_a_valid_set():
    spec = load_default().with_seats({"Marketing-Premium": 2}, unrestricted=True)
    assert LicenseSetSpec(owner=spec.owner, modules=spec.modules) == spec
