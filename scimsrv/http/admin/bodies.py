"""The JSON bodies the admin endpoints accept, as pydantic models: their
fields, types and defaults, unknown fields refused; and the refusal of a body
where an endpoint takes none (:func:`bodiless`). The OpenAPI document
(:mod:`scimsrv.http.admin.openapi`) takes its request schemas from the models.

A body that does not fit is a 400 ``invalidValue`` naming the fields in the
one wording of :mod:`licensing_core.fields` (license set files use it too):
unknown ones all together, else the missing ones, else the first value of a
wrong type. What a value means (a scope, a plan combination, a billing
period) is checked by the use cases (:mod:`scimsrv.services`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from licensing_core.fields import missing_fields, unknown_fields, wrong_type
from licensing_core.periods import MONTHS_PER_BILLING_PERIOD
from scimsrv.http.bodies import parse_json, read_body
from scimsrv.scim.errors import ScimError
from scimsrv.storage.tables import ALWAYS, BY_DISPLAY_NAME, BY_EXTERNAL_ID, IF_NOT_SET, SCOPES

Body = TypeVar("Body", bound=BaseModel)


class _Strict(BaseModel):
    # JSON types as sent: no "3" for 3, no 1 for true; unknown fields refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class NewRule(_Strict):
    """``POST /admin/v1/tenants/{tenant}/rules``: a rule to add."""

    scope: str = Field(description=f"Who the rule is for: one of {', '.join(SCOPES)}.")
    plans: str = Field(
        "",
        description="The plan combination it sets, e.g. 'Sales-Premium + Service-Essentials'; "
        "empty for no selection.",
    )
    mode: str = Field(ALWAYS, description=f"{ALWAYS} or {IF_NOT_SET}.")
    target: str = Field(
        "",
        description="The group (scopes in-group, not-in-group) or app role value "
        "(has-role, not-has-role); compared case-insensitively except externalIds.",
    )
    targetBy: str = Field(
        BY_DISPLAY_NAME,
        description=f"How target names a group: {BY_DISPLAY_NAME} or {BY_EXTERNAL_ID}.",
    )
    position: int | None = Field(None, description="1-based position; default: last.")
    description: str = Field("", description="Free text for operators.")


class RuleChange(_Strict):
    """``PATCH /admin/v1/tenants/{tenant}/rules/{rule}``: enable, disable or move a rule."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    enabled: bool | None = Field(None, description="Apply the rule (true) or keep it unused.")
    position: int | None = Field(None, description="New 1-based position.")


PERIODS = ", ".join(MONTHS_PER_BILLING_PERIOD)


class NewTenant(_Strict):
    """``POST /admin/v1/tenants``: a tenant to create."""

    id: str = Field(
        description="1-63 lower-case letters, digits and '-', starting with a letter or digit."
    )
    name: str = Field("", description="What operators call the customer.")
    company: str = Field(None, description="The customer's company name; default: the name.")
    contractStart: str = Field(
        None, description="YYYY-MM-DD, the contract's first day: billing periods start on it."
    )
    billingPeriod: str = Field(
        None,
        description=f"{PERIODS}; by default monthly (calendar months without a contract "
        "start); any other needs a contract start.",
    )


class TenantChange(_Strict):
    """``PATCH /admin/v1/tenants/{tenant}``: what to change (at least one field)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: str = Field(None, description="What operators call the customer; not empty.")
    company: str = Field(None, description="The customer's company name; not empty.")
    contractStart: str = Field(None, description="YYYY-MM-DD, the contract's first day.")
    billingPeriod: str = Field(
        None, description=f"{PERIODS} (all but monthly need a contract start)."
    )


class NoBody(_Strict):
    """What an endpoint that takes no body accepts: nothing, or ``{}``."""


# The type a wrong value should have had, by pydantic's error type.
_EXPECTED = {"string_type": "a string", "bool_type": "true or false", "int_type": "an integer"}


def given(body: BaseModel) -> dict[str, Any]:
    """The fields the body gave (a field left out is None: null is refused)."""
    return body.model_dump(exclude_none=True)


def parsed(model: type[Body], body: Any) -> Body:
    """``body`` (parsed JSON) as ``model``.

    :raises ScimError: 400 ``invalidSyntax`` for a body that is no object;
        400 ``invalidValue`` naming every unknown field, else every missing
        one, else the first value of a wrong type (:mod:`licensing_core.fields`).
    """
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ScimError(400, _refusal(model, exc.errors()), "invalidValue") from None


def _refusal(model: type[BaseModel], errors: list[Any]) -> str:
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:
        return unknown_fields(unknown, model.model_fields)
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
    if missing:
        return missing_fields(missing)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    expected = _EXPECTED.get(first["type"])
    return wrong_type(where, expected, first["input"]) if expected else f"{where}: {first['msg']}"


Endpoint = Callable[[Request], Awaitable[Response]]


def bodiless(endpoint: Endpoint) -> Endpoint:
    """``endpoint``, refusing a body before anything runs (like a bad query flag):
    none, an empty one or ``{}`` passes; fields are a 400 naming them as
    unknown, anything else a 400 ``invalidSyntax``."""

    async def refusing(request: Request) -> Response:
        sent = request.headers.get("content-length", "0") != "0"
        if sent or "transfer-encoding" in request.headers:
            raw = await read_body(request)
            if raw.strip():
                body = parse_json(raw)
                if not isinstance(body, dict):
                    raise ScimError(400, "this request takes no body (or {})", "invalidSyntax")
                parsed(NoBody, body)
        return await endpoint(request)

    return refusing
