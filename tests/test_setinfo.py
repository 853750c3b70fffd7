"""The ``set=`` list of a user plan's extraInfo: strict parsing and its inverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing_core.errors import InvalidSetInfo
from licensing_core.setinfo import format_set_info, is_module_name, parse_set_info


def test_set_info_parses_to_names_in_order():
    assert parse_set_info("set=user,web,chat-cal") == ("user", "web", "chat-cal")


def test_set_info_with_a_single_name():
    assert parse_set_info("set=user") == ("user",)


def test_set_info_accepts_digits_and_hyphens_in_names():
    assert parse_set_info("set=t1,t2,pocket-crm-cal,3d") == ("t1", "t2", "pocket-crm-cal", "3d")


@pytest.mark.parametrize(
    ("extra_info", "message"),
    [
        ("user,web", "does not start with 'set='"),
        ("SET=user,web", "does not start with 'set='"),
        (" set=user", "does not start with 'set='"),
        ("", "does not start with 'set='"),
        ("set=", "lists no license names"),
        ("set=user,,web", "empty name at position 2"),
        ("set=,user", "empty name at position 1"),
        ("set=,", "empty name at position 1"),
        ("set=user,web,", "trailing comma after 'web'"),
        ("set=user, web", "name 2 (' web') in extraInfo 'set=user, web' contains whitespace"),
        ("set=user,web ", "name 2 ('web ') in extraInfo 'set=user,web ' contains whitespace"),
        ("set=user,chat\tcal", "name 2 ('chat\\tcal')"),
        ("set=user,Web", "name 2 ('Web') in extraInfo 'set=user,Web' contains upper case"),
        ("set=chat_cal", "name 1 ('chat_cal') in extraInfo 'set=chat_cal' contains the illegal "),
        ("set=user;web", "illegal character ';'"),
        ("set=usér", "illegal character 'é'"),
        ("set=-web", "name 1 ('-web') in extraInfo 'set=-web' must start with a letter or digit"),
        ("set=user,web,user", "'user' is listed twice in extraInfo 'set=user,web,user' "),
    ],
)
def test_malformed_set_info_is_rejected_naming_the_bad_part(extra_info, message):
    with pytest.raises(InvalidSetInfo) as caught:
        parse_set_info(extra_info)
    assert message in str(caught.value)


def test_duplicate_name_message_gives_both_positions():
    with pytest.raises(InvalidSetInfo, match=r"positions 2 and 4"):
        parse_set_info("set=user,web,chat-cal,web")


def test_invalid_set_info_is_a_value_error():
    with pytest.raises(ValueError):
        parse_set_info("user")


def test_format_set_info_writes_the_extra_info_value():
    assert format_set_info(["user", "web", "chat-cal"]) == "set=user,web,chat-cal"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "at least one license"),
        (["user", ""], "empty name at position 2"),
        (["user", "Web"], "upper case"),
        (["user", "a,b"], "illegal character ','"),
        (["user", "user"], "listed twice"),
        (["user", None], "not a string"),
    ],
)
def test_format_set_info_rejects_names_it_could_not_parse_back(names, message):
    with pytest.raises(InvalidSetInfo, match=message):
        format_set_info(names)


@pytest.mark.parametrize("name", ["user", "t1", "3d", "pocket-crm-cal", "a-"])
def test_legal_module_names(name):
    assert is_module_name(name)


@pytest.mark.parametrize("name", ["", "-a", "A", "a b", "a_b", "é", "a.b"])
def test_illegal_module_names(name):
    assert not is_module_name(name)


module_names = st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True)


@given(st.lists(module_names, min_size=1, max_size=20, unique=True))
def test_format_then_parse_round_trips(names):
    assert parse_set_info(format_set_info(names)) == tuple(names)


@given(st.text(max_size=40))
def test_parse_either_succeeds_and_round_trips_or_raises_invalid_set_info(text):
    extra_info = "set=" + text
    try:
        names = parse_set_info(extra_info)
    except InvalidSetInfo:
        return
    assert format_set_info(names) == extra_info
