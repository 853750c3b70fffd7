"""A stored resource's JSON as the client asked for it (RFC 7644 §3.9, §3.4.2).

A user's or group's body is built from its rows (:mod:`scimsrv.scim.documents`)
from values scim2-models validated when they were written, so without
attribute selection the answer is that body, keys in the model's order:
exactly what a round trip through the scim2-models resource dumps, at a
fraction of the cost (``tests/test_fast_rendering.py`` holds it to that). A
request that selects attributes goes through the model, which owns those rules.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from pydantic import ValidationError
from scim2_models import Context, SCIMException, SearchRequest

from scimsrv.scim.parsing import scim_error


@cache
def _fields(model: type) -> dict[str, tuple[int, type | None]]:
    """Each serialized attribute name of ``model``: its position in a dump, and
    the model its value (or each item of it) is, if any."""
    fields: dict[str, tuple[int, type | None]] = {}
    for position, (name, info) in enumerate(model.model_fields.items()):
        kinds = [info.annotation, *get_args(info.annotation)]
        kinds += [arg for kind in kinds for arg in get_args(kind)]
        nested = next(
            (k for k in kinds if isinstance(k, type) and hasattr(k, "model_fields")), None
        )
        fields[info.serialization_alias or info.alias or name] = (position, nested)
    return fields


def in_model_order(model: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its keys, at every level, in the order ``model`` dumps them."""
    fields = _fields(model)
    last = (len(fields), None)
    ordered = {}
    for key, value in sorted(data.items(), key=lambda item: fields.get(item[0], last)[0]):
        nested = fields.get(key, last)[1]
        if nested is not None:
            if isinstance(value, dict):
                value = in_model_order(nested, value)
            elif isinstance(value, list):
                value = [in_model_order(nested, v) if isinstance(v, dict) else v for v in value]
        ordered[key] = value
    return ordered


def as_model(model: type, body: dict[str, Any]) -> Any:
    """A stored body validated into its scim2-models resource (to patch or select from)."""
    try:
        return model.model_validate(body, scim_ctx=Context.DEFAULT)
    except (ValidationError, SCIMException) as exc:
        raise scim_error(exc) from exc


def selects(search: SearchRequest | None) -> bool:
    return search is not None and bool(search.attributes or search.excluded_attributes)


def render(
    model: type, body: dict[str, Any], search: SearchRequest | None, context: Context
) -> dict[str, Any]:
    """``body`` as sent to the client: attributes and excludedAttributes honoured."""
    if not selects(search):
        return in_model_order(model, body)
    try:
        return as_model(model, body).model_dump(scim_ctx=context, response_parameters=search)
    except (ValidationError, SCIMException) as exc:
        raise scim_error(exc) from exc
