"""The JSON bodies the rules endpoints accept, as pydantic models: their fields,
types and defaults, unknown fields refused. The OpenAPI document
(:mod:`scimsrv.http.admin.openapi`) takes its request schemas from them.

A body that does not fit is a 400 ``invalidValue`` naming the fields:
unknown ones all together, else the first bad one. What a value means (a
scope, a plan combination, a mode) is checked by the rule use cases
(:mod:`scimsrv.services.rules`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from licensing_core.plural import plural
from scimsrv.scim.errors import ScimError
from scimsrv.scim.parsing import validation_detail
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


def parsed(model: type[Body], body: Any) -> Body:
    """``body`` (parsed JSON) as ``model``.

    :raises ScimError: 400 ``invalidValue`` naming unknown fields, or the first
        field whose value does not fit.
    """
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors()
        unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            known = ", ".join(model.model_fields)
            detail = f"{plural(len(unknown), 'unknown field')}: {names} (known: {known})"
        else:
            detail = validation_detail(exc)
        raise ScimError(400, detail, "invalidValue") from None
