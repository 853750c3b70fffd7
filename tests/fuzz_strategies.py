"""Hypothesis strategies for the fuzz suite (tests/test_fuzz.py).

Everything here is data: filter texts, PATCH bodies, resource bodies, query
parameters and path ids. Most of it is valid-ish on purpose (the shape a
client sends, with zero to a few parts broken), so that requests get past
validation and reach the database; the rest is junk. Strings may carry the
placeholders below: the test replaces them with the ids of real resources
before sending.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import strategies as st

# Placeholders the test substitutes with real ids of the tenant.
TARGET_USER = "$TARGET_USER"  # the user an example PATCHes/PUTs (fresh per example)
TARGET_GROUP = "$TARGET_GROUP"  # the group an example PATCHes/PUTs (fresh per example)
SEED_USER = "$SEED_USER"  # a user that stays for the whole test
PLACEHOLDERS = (TARGET_USER, TARGET_GROUP, SEED_USER)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def short_repr(value: Any, limit: int = 300) -> str:
    """``repr(value)``, its middle cut out when longer than ``limit``."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]} ...<{len(text)} chars>... {text[-limit // 4 :]}"


class Shown:
    """A drawn value whose repr in hypothesis' reports is cut to a readable
    length (a 100,000-deep array would fill the terminal)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Shown({short_repr(self.value)})"

    def _repr_pretty_(self, printer, _cycle) -> None:
        printer.text(repr(self))


def shown(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Shown]:
    return strategy.map(Shown)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each about as often as its weight says
    (``st.one_of`` drops repeated strategies, so repeating them does not weigh)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda index: pool[index])


def maybe_empty(strategy: st.SearchStrategy[dict], empty: int = 3) -> st.SearchStrategy[dict]:
    """Mostly ``{}``, sometimes ``strategy``: extra keys break most bodies."""
    return weighted((empty, st.just({})), (1, strategy))


def mangled_case(words: list[str] | tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of ``words`` as is (most often), lower, upper or swapped case."""
    return st.builds(
        lambda w, f: f(w),
        st.sampled_from(words),
        st.sampled_from([str, str, str, str.lower, str.upper, str.swapcase]),
    )


# --------------------------------------------------------------------------- atoms

# Sizes that matter: around the 255-character columns, the parser depth limit
# (32), Python's recursion limit (1000) and SQLite's expression depth (1000).
SIZES = (0, 1, 2, 31, 32, 33, 64, 254, 255, 256, 300, 999, 1000, 1001, 1200, 2000, 5000)
sizes = st.one_of(st.sampled_from(SIZES), st.integers(0, 3000))

NASTY_CHARS = "\x00\x01\x1f\x7f\u00e9\u00df\u0130\u212a\u03a3\u200b\u202e\ufeff\uffff\U0001f600"
characters = st.one_of(st.characters(), st.sampled_from(NASTY_CHARS))

short_text = st.text(characters, max_size=12)
# A long string without drawing thousands of characters one by one.
long_text = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "\x00", "😀", "ab"]), sizes)
special_text = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "null", "true", "1", "-0", "1e999", "NaN", "\ufeff", "ǅ"]
)
texts = weighted((3, short_text), (1, long_text), (1, special_text))
# What a valid string attribute mostly looks like: plain, sometimes nasty.
plain_text = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9 ._@-]{0,20}\Z")
values_text = weighted((4, plain_text), (1, texts))

HUGE_INTS = (
    2**31,
    2**31 - 1,
    -(2**31) - 1,
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**64,
    10**20,
    -(10**30),
    10**308,
    10**400,
)
integers = st.one_of(st.integers(), st.sampled_from(HUGE_INTS), st.integers(-3, 3))
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1e308, 5e-324, 1.7976931348623157e308]),
)


def attr_names() -> st.SearchStrategy[str]:
    return st.from_regex(r"\A[A-Za-z][A-Za-z0-9_$-]{0,15}\Z")


# JSON values of every type, nested.
json_leaves = st.one_of(st.none(), st.booleans(), integers, floats, texts)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(short_text, attr_names()), inner)
    ),
    max_leaves=10,
)

# --------------------------------------------------------------------------- paths

USER_ATTRIBUTES = (
    "userName",
    "name",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "displayName",
    "nickName",
    "title",
    "userType",
    "locale",
    "timezone",
    "preferredLanguage",
    "profileUrl",
    "active",
    "externalId",
    "id",
    "password",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.locality",
    "addresses.formatted",
    "roles.value",
    "entitlements.value",
    "x509Certificates.value",
    "groups",
    "groups.value",
    "groups.display",
    "meta",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "meta.resourceType",
    "schemas",
)
ENTERPRISE_ATTRIBUTES = (
    "employeeNumber",
    "department",
    "organization",
    "costCenter",
    "division",
    "manager",
    "manager.value",
    "manager.displayName",
)
LICENSING_ATTRIBUTES = ("state", "planCombination", "requestedPlans", "basePlans", "licenses")
GROUP_ATTRIBUTES = (
    "displayName",
    "members",
    "members.value",
    "members.display",
    "members.type",
    "members.$ref",
    "externalId",
    "id",
    "meta.created",
    "meta.lastModified",
)


def known_paths() -> st.SearchStrategy[str]:
    """Attribute paths the schemas know, with or without their schema URN."""
    core = st.sampled_from(USER_ATTRIBUTES + GROUP_ATTRIBUTES)
    urn_core = st.builds(lambda u, a: f"{u}:{a}", st.sampled_from([USER, GROUP]), core)
    enterprise = st.builds(lambda a: f"{ENTERPRISE}:{a}", st.sampled_from(ENTERPRISE_ATTRIBUTES))
    licensing = st.builds(lambda a: f"{LICENSING}:{a}", st.sampled_from(LICENSING_ATTRIBUTES))
    plain = weighted((4, core), (1, urn_core), (1, enterprise), (1, licensing))
    return st.builds(
        lambda p, f: f(p), plain, st.sampled_from([str, str, str, str.lower, str.upper])
    )


def attr_paths() -> st.SearchStrategy[str]:
    """Mostly known paths; random ones (sub-attributes, URNs) and junk too."""
    random_path = st.builds(
        lambda parts: ".".join(parts), st.lists(attr_names(), min_size=1, max_size=4)
    )
    random_urn = st.builds(
        lambda parts, attr: "urn:" + ":".join(parts) + ":" + attr,
        st.lists(attr_names(), min_size=1, max_size=6),
        random_path,
    )
    junk = st.one_of(
        st.sampled_from([USER, ENTERPRISE, LICENSING, GROUP, "urn:", "a..b", ".", "$ref", ""]),
        long_text,
        short_text,
    )
    return weighted((8, known_paths()), (1, random_path), (1, random_urn), (1, junk))


# --------------------------------------------------------------------------- filters

COMPARE_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")


def json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


literals = weighted(
    (4, st.builds(json_string, values_text)),
    (1, st.builds(json_string, st.sampled_from(PLACEHOLDERS))),
    (1, integers.map(str)),
    (1, floats.map(repr)),
    (1, mangled_case(["true", "false", "null"])),
    (
        1,
        st.sampled_from(
            [
                '"2026-01-01T00:00:00Z"',
                '"2026-13-45T99:99:99Z"',
                '"0000-01-01T00:00:00"',
                '"9999-12-31T23:59:59.999999+14:00"',
                "1e999",
                "-1e999",
                "1.",
                ".5",
                "0x10",
                "00",
                '"\\u0000"',
                '"\\ud800"',
                '"\\"',
                "'single'",
                "bare-word",
                "7fce0092-d52e-4f76-b727-3955bd72c939",
            ]
        ),
    ),
)

operators = weighted(
    (9, mangled_case(COMPARE_OPERATORS)), (1, st.sampled_from(["=", "in", "like", ""]))
)
comparisons = weighted(
    (4, st.builds(lambda p, op, v: f"{p} {op} {v}", attr_paths(), operators, literals)),
    (1, st.builds(lambda path, op: f"{path} {op}", attr_paths(), mangled_case(["pr"]))),
)


def _value_path(attr: str, inner: str, sub: str | None) -> str:
    return f"{attr}[{inner}]" + (f".{sub}" if sub else "")


def filters_of(terms: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Boolean expressions over ``terms``: and/or/not, parentheses, value paths."""

    def extend(inner):
        return st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, mangled_case(["and", "or"]), inner),
            st.builds(lambda a: f"not ({a})", inner),
            st.builds(lambda a: f"({a})", inner),
            st.builds(lambda a: f"not({a})", inner),
            st.builds(
                _value_path,
                st.sampled_from(["emails", "members", "groups", "addresses", "name"]),
                inner,
                st.one_of(st.none(), st.sampled_from(["value", "type", "display"])),
            ),
        )

    return st.recursive(terms, extend, max_leaves=6)


def _deep(f: str, depth: int, style: str) -> str:
    if style == "parens":
        return "(" * depth + f + ")" * depth
    if style == "not":
        return "not (" * depth + f + ")" * depth
    return "emails[" * depth + f + "]" * depth


def _many(op: str, n: int, attr: str) -> str:
    return f" {op} ".join(f'{attr} eq "u{i}"' for i in range(n))


filters = weighted(
    (6, filters_of(comparisons)),
    (1, st.builds(_deep, comparisons, sizes, st.sampled_from(["parens", "not", "brackets"]))),
    (
        1,
        st.builds(
            _many,
            mangled_case(["or", "and"]),
            sizes,
            st.sampled_from(["userName", "externalId", "emails.value", "members.value", "title"]),
        ),
    ),
    # A valid filter cut anywhere.
    (1, st.builds(lambda f, n: f[:n], filters_of(comparisons), st.integers(0, 40))),
    (1, texts),
)

# --------------------------------------------------------------------------- resources

member_ids = weighted((4, st.sampled_from(PLACEHOLDERS)), (1, texts), (1, json_values))
members = st.lists(
    weighted(
        (
            6,
            st.fixed_dictionaries(
                {"value": member_ids},
                optional={"display": values_text, "type": st.sampled_from(["User", "Group"])},
            ),
        ),
        (1, json_values),
    ),
    max_size=3,
)
multi_values = st.lists(
    st.fixed_dictionaries(
        {"value": values_text},
        optional={
            "type": st.sampled_from(["work", "home", "other"]),
            "primary": st.booleans(),
            "display": values_text,
        },
    ),
    max_size=3,
)
booleans_as_text = st.sampled_from(["True", "False", "true", "false", "TRUE", "yes", "1"])

USER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "displayName": values_text,
    "nickName": values_text,
    "title": values_text,
    "userType": values_text,
    "preferredLanguage": st.sampled_from(["en-US", "nb-NO", "xx"]),
    "locale": st.sampled_from(["en-US", "nb-NO", "xx"]),
    "timezone": st.sampled_from(["Europe/Oslo", "Mars/Olympus"]),
    "externalId": values_text,
    "active": st.one_of(st.booleans(), booleans_as_text),
    "password": values_text,
    "name": st.fixed_dictionaries(
        {},
        optional={"givenName": values_text, "familyName": values_text, "formatted": values_text},
    ),
    "emails": multi_values,
    "phoneNumbers": multi_values,
    "roles": multi_values,
    "entitlements": multi_values,
    ENTERPRISE: st.fixed_dictionaries(
        {},
        optional={
            "employeeNumber": values_text,
            "department": values_text,
            "costCenter": values_text,
            "manager": st.one_of(
                st.sampled_from(PLACEHOLDERS), st.fixed_dictionaries({"value": member_ids})
            ),
        },
    ),
}
GROUP_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "externalId": values_text,
    "members": members,
}
user_names = weighted(
    (4, plain_text),
    (2, texts),
    (1, st.sampled_from(["seed-user", "SEED-USER", "target-1"])),
)
group_names = weighted(
    (4, plain_text),
    (2, texts),
    (
        1,
        st.sampled_from(
            ["Sales-Premium", "sales-premium", "Service-Essentials + Marketing-Premium", "team-1"]
        ),
    ),
)

SCHEMAS_VARIANTS = ([[0]], [{}], [], [None], [USER, USER], [ENTERPRISE], [GROUP], [ENTRA_GROUP])
bad_values = weighted(
    (3, json_values),
    (1, long_text),
    (1, st.sampled_from([[[0]], [{}], {"value": None}, [[]], "\x00", 10**20, -1, 1.5, "True"])),
)


def _mutated(body: dict[str, Any], mutations: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """``body`` with each mutation applied: ("set", key, value) or ("drop", key, _)."""
    body = dict(body)
    for action, key, value in mutations:
        if action == "drop":
            body.pop(key, None)
        else:
            body[key] = value
    return body


def resource_bodies(kind: str) -> st.SearchStrategy[Any]:
    """Bodies for POST/PUT of ``kind`` ("Users" or "Groups"): a valid body,
    often with zero to three of its parts broken (wrong types, nested arrays,
    ``schemas`` as ``[[0]]``, long strings, NUL, huge numbers, booleans as
    strings, unknown keys), or any JSON at all."""
    if kind == "Users":
        schema, name_key, names, values = USER, "userName", user_names, USER_VALUES
    else:
        schema, name_key, names, values = GROUP, "displayName", group_names, GROUP_VALUES
    valid = st.fixed_dictionaries(
        {"schemas": st.just([schema]), name_key: names},
        optional=values,
    ).map(lambda body: {**body, "schemas": [schema, ENTERPRISE]} if ENTERPRISE in body else body)
    keys = weighted(
        (4, st.sampled_from(["schemas", name_key, *values])),
        (1, mangled_case([name_key, "schemas"])),
        (1, attr_names()),
    )
    mutation = st.one_of(
        st.tuples(st.just("set"), keys, bad_values),
        st.tuples(st.just("set"), st.just("schemas"), st.sampled_from(SCHEMAS_VARIANTS)),
        st.tuples(st.just("drop"), keys, st.none()),
    )
    mutated = st.builds(_mutated, valid, st.lists(mutation, min_size=1, max_size=3))
    return weighted((3, valid), (5, mutated), (1, json_values))


def _nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


def _user_json(fields: bytes) -> bytes:
    return b'{"schemas": ["' + USER.encode() + b'"], ' + fields + b"}"


# Bodies no JSON serializer would write: sent as bytes.
raw_bodies = st.one_of(
    st.builds(
        _nested,
        st.one_of(sizes, st.sampled_from([10_000, 100_000])),
        st.sampled_from(["[", '{"a":']),
    ),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"{",
            b"\xef\xbb\xbf{}",
            b"\xff\xfe",
            b'{"a": 1, "a": 2}',
            b'{"schemas": NaN}',
            _user_json(b'"userName": NaN'),
            _user_json(b'"userName": "x", "title": Infinity'),
            _user_json(b'"userName": "x", "name": {"givenName": -Infinity}'),
            _user_json(b'"userName": "\\ud800"'),
            _user_json(b'"userName": "x", "title": "\\udfff"'),
            _user_json(b'"userName": "\\u0000"'),
            _user_json(b'"userName": "x", "title": ' + b"1" * 5000),
            _user_json(b'"userName": "x", "title": 1e400'),
            _user_json(b'"userName": "x", "userName": "y"'),
            b'{"displayName": "\\ud800", "schemas": ["' + GROUP.encode() + b'"]}',
        ]
    ),
)

# --------------------------------------------------------------------------- PATCH

# Paths a PATCH aims at, each with the values that fit it.
_USER_TARGETS: dict[str, st.SearchStrategy[Any]] = {
    "userName": user_names,
    "displayName": values_text,
    "title": values_text,
    "externalId": values_text,
    "active": st.one_of(st.booleans(), booleans_as_text),
    "name": USER_VALUES["name"],
    "name.givenName": values_text,
    "emails": multi_values,
    'emails[type eq "work"].value': values_text,
    'emails[type eq "work"]': multi_values,
    "phoneNumbers": multi_values,
    "roles": multi_values,
    f"{ENTERPRISE}:department": values_text,
    f"{ENTERPRISE}:manager": st.one_of(
        st.sampled_from(PLACEHOLDERS), st.fixed_dictionaries({"value": member_ids})
    ),
    ENTERPRISE: USER_VALUES[ENTERPRISE],
    f"{LICENSING}:state": values_text,
}
_GROUP_TARGETS: dict[str, st.SearchStrategy[Any]] = {
    "displayName": group_names,
    "externalId": values_text,
    "members": members,
    'members[value eq "$TARGET_USER"]': members,
    'members[value eq "$SEED_USER"].display': values_text,
}


def _set(op: str, path: str | None, value: Any) -> dict[str, Any]:
    return {"op": op, "value": value} if path is None else {"op": op, "path": path, "value": value}


def _fitting_operations(targets: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Operations that are valid or nearly: add/replace with a value that fits
    the path, no-path add/replace of an object, remove of a path (sometimes
    with the members to remove as its value, as Entra ID sends)."""
    add_or_replace = mangled_case(["add", "replace"])
    with_path = st.sampled_from(sorted(targets)).flatmap(
        lambda path: st.builds(_set, add_or_replace, st.just(path), targets[path])
    )
    simple = {path: values for path, values in targets.items() if "[" not in path}
    without_path = st.builds(
        _set, add_or_replace, st.none(), st.fixed_dictionaries({}, optional=simple)
    )
    remove = st.builds(
        lambda op, path: {"op": op, "path": path},
        mangled_case(["remove"]),
        st.sampled_from(sorted(targets)),
    )
    remove_members = st.builds(
        lambda ids: {"op": "Remove", "path": "members", "value": [{"value": i} for i in ids]},
        st.lists(member_ids, max_size=2),
    )
    return weighted((5, with_path), (2, without_path), (2, remove), (1, remove_members))


patch_paths = weighted(
    (6, known_paths()),
    (1, attr_paths()),
    (
        1,
        st.builds(
            _value_path,
            st.sampled_from(["emails", "members", "phoneNumbers", "addresses", "roles"]),
            filters_of(comparisons),
            st.one_of(st.none(), st.sampled_from(["value", "type", "display", "primary"])),
        ),
    ),
    (1, st.builds(lambda u: f'members[value eq "{u}"]', st.sampled_from(PLACEHOLDERS))),
)
op_names = weighted(
    (8, mangled_case(["add", "remove", "replace"])),
    (1, st.sampled_from(["move", "copy", "test", "", " add"])),
    (1, json_values),
)


def _operation_mutations(targets) -> st.SearchStrategy[list[tuple[str, str, Any]]]:
    any_value = weighted((3, bad_values), (2, st.one_of(*targets.values())), (1, long_text))
    mutation = st.one_of(
        st.tuples(st.just("set"), st.just("op"), op_names),
        st.tuples(st.just("set"), st.just("path"), patch_paths),
        st.tuples(st.just("set"), st.just("value"), any_value),
        st.tuples(st.just("set"), mangled_case(["op", "path", "value"]), any_value),
        st.tuples(st.just("set"), attr_names(), json_values),
        st.tuples(st.just("drop"), st.sampled_from(["op", "path", "value"]), st.none()),
    )
    return st.lists(mutation, min_size=1, max_size=2)


def patch_bodies(kind: str) -> st.SearchStrategy[Any]:
    """PatchOp bodies for ``kind``: one to three operations, mostly fitting
    their path, some with a part broken (op in any case or unknown, paths with
    filters or junk, values of every JSON type, nested); or any JSON at all."""
    targets = _USER_TARGETS if kind == "Users" else _GROUP_TARGETS
    fitting = _fitting_operations(targets)
    operation = weighted(
        (6, fitting),
        (3, st.builds(_mutated, fitting, _operation_mutations(targets))),
        (1, json_values),
    )
    valid = st.fixed_dictionaries(
        {
            "schemas": st.just([PATCH_OP]),
            "Operations": st.lists(operation, min_size=1, max_size=3),
        }
    )
    mutation = st.one_of(
        st.tuples(
            st.just("set"),
            st.just("schemas"),
            weighted((1, json_values), (1, st.just([PATCH_OP.upper()]))),
        ),
        st.tuples(st.just("set"), st.just("Operations"), json_values),
        st.tuples(st.just("set"), mangled_case(["Operations", "schemas"]), json_values),
        st.tuples(st.just("set"), attr_names(), json_values),
        st.tuples(st.just("drop"), st.sampled_from(["schemas", "Operations"]), st.none()),
    )
    mutated = st.builds(_mutated, valid, st.lists(mutation, min_size=1, max_size=2))
    return weighted((7, valid), (2, mutated), (1, json_values))


# --------------------------------------------------------------------------- query parameters

numbers_as_text = weighted(
    (3, st.integers(-2, 200).map(str)),
    (2, integers.map(str)),
    (
        2,
        st.sampled_from(
            [
                "",
                " ",
                "abc",
                "1.5",
                "1e3",
                " 7",
                "0x10",
                "1_000",
                "\uff11\uff12",
                "-0",
                "+5",
                "100000000000000000000",
                "-100000000000000000000",
                "9" * 5000,
                "NaN",
                "\x00",
            ]
        ),
    ),
)


def _comma_list(paths: list[str]) -> str:
    return ",".join(paths)


def _cursor(sort, order, key, row_id) -> str:
    payload = json.dumps({"s": sort, "o": order, "k": key, "i": row_id}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


cursors = st.one_of(
    st.just(""),
    texts,
    # Well-formed cursors holding values of any type.
    st.builds(
        _cursor,
        st.sampled_from(["", "username", "displayname", "emails", "meta.created", "title"]),
        st.sampled_from(["a", "d", "x"]),
        json_values,
        st.one_of(st.sampled_from(PLACEHOLDERS), json_values),
    ),
)
sort_orders = weighted((4, mangled_case(["ascending", "descending"])), (1, texts))
attribute_lists = weighted(
    (4, st.lists(attr_paths(), min_size=1, max_size=4).map(_comma_list)), (1, texts)
)

query_parameters = st.fixed_dictionaries(
    {},
    optional={
        "startIndex": numbers_as_text,
        "count": numbers_as_text,
        "filter": filters,
        "sortBy": attr_paths(),
        "sortOrder": sort_orders,
        "cursor": cursors,
        "attributes": attribute_lists,
        "excludedAttributes": attribute_lists,
    },
)


def _case_keys(params: dict[str, str], change) -> dict[str, str]:
    return {change(k): v for k, v in params.items()}


query_params = st.builds(
    _case_keys, query_parameters, st.sampled_from([str, str, str, str.lower, str.upper])
)

# The same parameters in a /.search body, with values of any JSON type.
search_bodies = weighted(
    (
        9,
        st.fixed_dictionaries(
            {"schemas": weighted((6, st.just([SEARCH])), (1, json_values))},
            optional={
                "startIndex": st.one_of(integers, floats, json_values, numbers_as_text),
                "count": st.one_of(integers, floats, json_values, numbers_as_text),
                "filter": weighted((4, filters), (1, json_values)),
                "sortBy": weighted((4, attr_paths()), (1, json_values)),
                "sortOrder": weighted((4, sort_orders), (1, json_values)),
                "cursor": weighted((4, cursors), (1, json_values)),
                "attributes": weighted((4, st.lists(attr_paths(), max_size=4)), (1, json_values)),
                "excludedAttributes": weighted(
                    (4, st.lists(attr_paths(), max_size=4)), (1, json_values)
                ),
            },
        ),
    ),
    (1, json_values),
)

# --------------------------------------------------------------------------- path ids

_RAW_IDS = (
    "%00",
    "a%00b",
    "%",
    "%ZZ",
    "%2F",
    "%2e%2e",
    "..",
    ".",
    "%20",
    "%ff%fe",
    "%ed%a0%80",
    "%C0%AF",
)

# (mode, id): a "raw" id goes into the URL as is (percent escapes included);
# a "text" id is percent-encoded whole first, after its placeholders are
# replaced; "upper" is the same with the real id upper-cased.
# Only the per-example targets: a DELETE or PUT must not change what stays.
_TARGETS = (TARGET_USER, TARGET_GROUP)
path_ids = st.one_of(
    st.tuples(st.just("raw"), st.sampled_from(_RAW_IDS)),
    st.tuples(st.just("upper"), st.sampled_from(_TARGETS)),
    st.tuples(
        st.just("text"),
        st.one_of(
            st.sampled_from(_TARGETS),
            st.builds(lambda p, s: p + s, st.sampled_from(_TARGETS), texts),
            st.sampled_from([" ", "null", "00000000-0000-0000-0000-000000000000"]),
            long_text,
            st.text(characters, min_size=1, max_size=40),
        ),
    ),
)
