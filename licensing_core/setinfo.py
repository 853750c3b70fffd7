"""The ``set=`` list a user plan's modulelicense ``extraInfo`` holds (docs/licensing.md §2).

``set=user,web,chat-cal`` names the hidden user licenses the plan grants
implicitly. Parsing is strict: a malformed value raises InvalidSetInfo naming
the bad part, because a plan that silently grants the wrong licenses would
hand out seats nobody bought.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from licensing_core.errors import InvalidSetInfo

PREFIX = "set="
NAME_RULE = "[a-z0-9][a-z0-9-]*"
_NAME = re.compile(NAME_RULE)
_ILLEGAL = re.compile(r"[^a-z0-9-]")


def is_module_name(name: str) -> bool:
    """True when ``name`` is a legal license code name (``[a-z0-9][a-z0-9-]*``)."""
    return _NAME.fullmatch(name) is not None


def parse_set_info(extra_info: str) -> tuple[str, ...]:
    """The license names of ``set=a,b,c``, in order; InvalidSetInfo if malformed."""
    if not extra_info.startswith(PREFIX):
        raise InvalidSetInfo(f"extraInfo {extra_info!r} does not start with {PREFIX!r}")
    body = extra_info[len(PREFIX) :]
    if not body:
        raise InvalidSetInfo(f"extraInfo {extra_info!r} lists no license names after {PREFIX!r}")
    names = body.split(",")
    if len(names) > 1 and names[-1] == "" and names[-2] != "":
        raise InvalidSetInfo(f"trailing comma after {names[-2]!r} in extraInfo {extra_info!r}")
    return _checked(names, f"extraInfo {extra_info!r}")


def format_set_info(names: Iterable[str]) -> str:
    """The ``extraInfo`` value granting ``names``; the inverse of parse_set_info."""
    checked = _checked(list(names), "the set")
    if not checked:
        raise InvalidSetInfo("a set must name at least one license")
    return PREFIX + ",".join(checked)


def _checked(names: list[str], where: str) -> tuple[str, ...]:
    first_seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        _check_name(name, position, where)
        if name in first_seen:
            raise InvalidSetInfo(
                f"{name!r} is listed twice in {where} (positions {first_seen[name]} and {position})"
            )
        first_seen[name] = position
    return tuple(names)


def _check_name(name: str, position: int, where: str) -> None:
    if not isinstance(name, str):
        raise InvalidSetInfo(f"name {position} in {where} is not a string: {name!r}")
    label = f"name {position} ({name!r}) in {where}"
    if name == "":
        raise InvalidSetInfo(f"empty name at position {position} in {where}")
    if any(ch.isspace() for ch in name):
        raise InvalidSetInfo(f"{label} contains whitespace")
    if any(ch.isupper() for ch in name):
        raise InvalidSetInfo(f"{label} contains upper case; license names are lower case")
    illegal = _ILLEGAL.search(name)
    if illegal is not None:
        raise InvalidSetInfo(
            f"{label} contains the illegal character {illegal.group()!r}; "
            f"a license name matches {NAME_RULE}"
        )
    if not is_module_name(name):
        raise InvalidSetInfo(f"{label} must start with a letter or digit ({NAME_RULE})")
