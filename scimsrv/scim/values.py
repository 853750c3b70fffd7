"""What a request may carry, checked before anything else reads it, so that
SQLite and PostgreSQL answer alike and nothing a client sends can reach the
database in a form it refuses (RFC 7644 §3.12: 400 ``invalidValue``).

* JSON nests at most :data:`MAX_DEPTH` levels; ``NaN`` and ``Infinity`` are
  not JSON (RFC 8259) and are refused, and so is a number past 64 bits
  (:func:`json_integer`, :func:`json_float`): "number too large".
* No string, key or query parameter contains NUL (U+0000) or a lone UTF-16
  surrogate: PostgreSQL cannot store either, SQLite would store what
  PostgreSQL refuses.
* The attributes kept in columns (userName, externalId, displayName, a
  member's display) are at most :data:`COLUMN_LENGTH` characters, userName
  and a group's displayName after case folding too; other strings at most
  :data:`MAX_STRING`.
* A multi-valued attribute (``emails``, ``roles``...) holds at most
  :data:`MAX_VALUES` values (:func:`bounded_values`); a group's ``members``
  are bounded by the body size only.
* Resource ids are the UUIDs this service hands out: anything else names no
  resource (404), without a query.

docs/limits.md lists every limit a request meets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scimsrv.scim.errors import ScimError

MAX_DEPTH = 32
COLUMN_LENGTH = 255
MAX_STRING = 65_536
MAX_VALUES = 100
# The ids of users and groups: uuid4, canonical form.
_RESOURCE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# The widest integer either database stores (SQLite's and PostgreSQL's bigint).
MAX_JSON_INTEGER = 2**63 - 1


def _too_large() -> ScimError:
    return ScimError(
        400, "number too large: a number in a request must fit in 64 bits", "invalidValue"
    )


def json_integer(text: str) -> int:
    """A JSON integer literal (``json.loads``'s ``parse_int``) within 64 bits."""
    # Past 19 digits it is out of range: never convert it (thousands of
    # digits would take Python's conversion guard, or long, to refuse).
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_JSON_INTEGER:
        raise _too_large()
    return value


def json_float(text: str) -> float:
    """A JSON number with a fraction or exponent (``parse_float``), finite."""
    value = float(text)
    if not math.isfinite(value):
        raise _too_large()
    return value


def is_resource_id(text: Any) -> bool:
    """Whether ``text`` could be the id of a user or group of this service."""
    return isinstance(text, str) and _RESOURCE_ID.match(text) is not None


def storable(text: str, where: str, limit: int = MAX_STRING) -> str:
    """``text`` if the databases can store it, else 400 ``invalidValue``."""
    if "\x00" in text:
        raise ScimError(
            400, f"{where} contains NUL (U+0000), which cannot be stored", "invalidValue"
        )
    if len(text) > limit:
        raise ScimError(
            400, f"{where} is longer than {limit} characters ({len(text)})", "invalidValue"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ScimError(
            400, f"{where} contains a lone UTF-16 surrogate, which is not text", "invalidValue"
        ) from None
    return text


def column(value: Any, name: str, *, folded: bool = False) -> Any:
    """A value for a column attribute: at most :data:`COLUMN_LENGTH` characters;
    ``folded``: its casefolded form too, for a name also kept casefolded
    (userName, a group's displayName: ``ß`` folds to ``ss``)."""
    if isinstance(value, str):
        storable(value, name, COLUMN_LENGTH)
        if folded:
            storable(value.casefold(), f"{name} (casefolded)", COLUMN_LENGTH)
    return value


def bounded_values(document: dict[str, Any], unbounded: frozenset[str] = frozenset()) -> None:
    """Every multi-valued attribute of ``document`` (a resource as stored, its
    extensions' too) holds at most :data:`MAX_VALUES` values, but those named in
    ``unbounded``; else 400 ``invalidValue``."""
    pending = [("", document)]
    while pending:
        prefix, attributes = pending.pop()
        for name, value in attributes.items():
            if isinstance(value, dict) and name.startswith("urn:"):
                pending.append((f"{name}:", value))
            elif isinstance(value, list) and name not in unbounded and len(value) > MAX_VALUES:
                raise ScimError(
                    400,
                    f"{prefix}{name} holds {len(value)} values; at most {MAX_VALUES}",
                    "invalidValue",
                )


def checked_json(document: Any) -> Any:
    """``document`` (parsed JSON) if every level and string of it is storable.

    :raises ScimError: 400 ``invalidSyntax`` past :data:`MAX_DEPTH` levels,
        400 ``invalidValue`` for a string :func:`storable` refuses.
    """
    pending: list[tuple[Any, int, str]] = [(document, 1, "body")]
    while pending:
        value, depth, where = pending.pop()
        if isinstance(value, str):
            storable(value, where)
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ScimError(
                    400, f"the JSON nests more than {MAX_DEPTH} levels deep", "invalidSyntax"
                )
            items: Iterable = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                label = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
                if isinstance(key, str):
                    storable(key, f"a key of {where}", COLUMN_LENGTH)
                pending.append((item, depth + 1, label[:200]))
    return document


def checked_query(parameters: Mapping[str, str]) -> None:
    """Query parameter names and values the service can use."""
    for name, value in parameters.items():
        storable(name, "a query parameter name", COLUMN_LENGTH)
        storable(value, f"query parameter {name!r}")
