"""Query and search requests in, ListResponses out (RFC 7644 §3.4.2, §3.4.3, RFC 9865).

A ``GET /Users?...`` and a ``POST /Users/.search`` are read into the same
scim2-models :class:`SearchRequest`, so both honour the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from scim2_models import Context, SearchRequest

from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import MODEL_ERRORS, require_object, scim_error
from scimsrv.scim.urns import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    LICENSING_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_QUERY_PARAMETERS = {
    "filter": "filter",
    "sortby": "sortBy",
    "sortorder": "sortOrder",
    "startindex": "startIndex",
    "count": "count",
    "cursor": "cursor",
    "attributes": "attributes",
    "excludedattributes": "excludedAttributes",
}

# Entra ID was once seen sending ``externalId eq 7fce0092-...`` (docs/identity-providers.md):
# a bare word that is not a JSON literal is read as the string it spells.
_UNQUOTED_EQ = re.compile(r"^\s*([A-Za-z][\w:.$-]*)\s+eq\s+([^\s\"()\[\]]+)\s*$", re.IGNORECASE)
_JSON_LITERAL = re.compile(r"^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)$", re.IGNORECASE)


def _tolerant_filter(text: str) -> str:
    match = _UNQUOTED_EQ.match(text)
    if match and not _JSON_LITERAL.match(match.group(2)):
        return f'{match.group(1)} eq "{match.group(2)}"'
    return text


# A lookup as identity providers send it on every sync: one ``attr eq "x"``
# (no escapes), a plain startIndex and count. Validating it through the
# models would only confirm what these patterns already did.
_LOOKUP = re.compile(r'^\s*[A-Za-z][A-Za-z0-9]*\s+eq\s+"[^"\\]*"\s*$', re.IGNORECASE)


def _lookup(payload: dict[str, Any], model: Any) -> SearchRequest | None:
    if model is None or not set(payload) <= {"filter", "startIndex", "count"}:
        return None
    if not isinstance(payload.get("filter"), str) or not _LOOKUP.match(payload["filter"]):
        return None
    start, count = payload.get("startIndex"), payload.get("count")
    if (start is not None and start < 1) or (count is not None and count < 0):
        return None  # the models give these their RFC meaning
    update = {"filter": payload["filter"], "start_index": start, "count": count}
    return _empty_search(model).model_copy(update=update)


# startIndex and count: a JSON integer, or in a query ASCII digits after an
# optional "-", within 32 bits (what .NET and Java clients read them into).
_PAGING = ("startIndex", "count")
_INTEGER = re.compile(r"^-?[0-9]+$")
MAX_INTEGER = 2**31 - 1


def _paging_number(name: str, value: Any) -> int:
    """``value`` of ``startIndex`` or ``count`` as an integer; below 1 and below 0
    keep their RFC 7644 §3.4.2.4 meaning (1 and 0).

    :raises ScimError: 400 ``invalidValue`` for anything but an integer, or one
        beyond 32 bits.
    """
    if isinstance(value, str):
        if not _INTEGER.match(value):
            raise ScimError(
                400, f"{name} must be an integer (digits, optionally after '-')", "invalidValue"
            )
        # Past ten significant digits it is out of range: no need to convert it.
        digits = value.lstrip("-").lstrip("0")
        value = int(value) if len(digits) <= 10 else MAX_INTEGER + 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScimError(400, f"{name} must be an integer", "invalidValue")
    if not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        raise ScimError(
            400, f"{name} must be between {-MAX_INTEGER - 1} and {MAX_INTEGER}", "invalidValue"
        )
    return value


@cache
def _empty_search(model: Any) -> SearchRequest:
    return SearchRequest[model].model_validate({}, scim_ctx=Context.SEARCH_REQUEST)


def _validated(payload: dict[str, Any], model: Any) -> SearchRequest:
    for key in list(payload):
        name = next((n for n in _PAGING if n.lower() == key.lower()), None)
        if name is not None:
            payload[name] = _paging_number(name, payload.pop(key))
    if isinstance(payload.get("filter"), str):
        payload["filter"] = _tolerant_filter(payload["filter"])
    fast = _lookup(payload, model)
    if fast is not None:
        return fast
    try:
        schema = SearchRequest if model is None else SearchRequest[model]
        return schema.model_validate(payload, scim_ctx=Context.SEARCH_REQUEST)
    except MODEL_ERRORS as exc:
        raise scim_error(exc) from exc


def search_from_query(query: Mapping[str, str], model: Any) -> SearchRequest:
    """The query parameters of a list request (names matched case-insensitively)."""
    payload: dict[str, Any] = {}
    for key, value in query.items():
        name = _QUERY_PARAMETERS.get(key.lower())
        if name is not None:
            payload[name] = value
    return _validated(payload, model)


def search_from_body(body: Any, model: Any) -> SearchRequest:
    """A ``/.search`` body (RFC 7644 §3.4.3)."""
    payload = dict(require_object(body, "SearchRequest"))
    return _validated(payload, model)


def response_parameters(query: Mapping[str, str], model: Any) -> SearchRequest:
    """``attributes`` / ``excludedAttributes`` of a single-resource request (RFC 7644 §3.9)."""
    payload = {}
    for key, value in query.items():
        if key.lower() in ("attributes", "excludedattributes"):
            payload[_QUERY_PARAMETERS[key.lower()]] = value
    return _validated(payload, model)


def page_size(search: SearchRequest) -> int:
    if search.count is None:
        return DEFAULT_PAGE_SIZE
    return min(search.count, MAX_PAGE_SIZE)


# An ``attributes`` entry naming a whole schema asks for all of its attributes.
_SCHEMA_URNS = frozenset(
    urn.lower() for urn in (USER_SCHEMA, ENTERPRISE_SCHEMA, LICENSING_SCHEMA, GROUP_SCHEMA)
)


def _named(path: Any) -> tuple[str, bool]:
    """The attribute an ``attributes``/``excludedAttributes`` entry names (``""``
    for a whole schema) and whether it names only a sub-attribute of it."""
    text = str(path).lower()
    if text in _SCHEMA_URNS:
        return "", False
    attribute, dot, _sub = text.rsplit(":", 1)[-1].partition(".")
    return attribute, bool(dot)


def excludes(search: SearchRequest, attribute: str) -> bool:
    """Whether the response leaves ``attribute`` out, so it need not be read at all.

    Only when it surely does (RFC 7644 §3.9): ``excludedAttributes`` names the
    attribute itself (``members.value`` still returns the other
    sub-attributes), or ``attributes`` names neither it, nor one of its
    sub-attributes, nor a whole schema.
    """
    wanted = attribute.lower()
    if search.excluded_attributes:
        return any(_named(path) == (wanted, False) for path in search.excluded_attributes)
    if search.attributes:
        return not any(_named(path)[0] in (wanted, "") for path in search.attributes)
    return False


def list_response(
    resources: list[dict[str, Any]],
    total: int,
    start_index: int | None,
    next_cursor: str | None = None,
    previous_cursor: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
    }
    if start_index is not None:
        body["startIndex"] = start_index
    if next_cursor:
        body["nextCursor"] = next_cursor
    if previous_cursor:
        body["previousCursor"] = previous_cursor
    body["Resources"] = resources
    return body


def reject_unsupported(search: SearchRequest) -> None:
    if search.cursor is not None and search.start_index is not None:
        raise ScimError(400, "use either cursor or startIndex, not both", "invalidValue")
