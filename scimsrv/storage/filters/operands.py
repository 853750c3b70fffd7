"""The values a filter compares: one SQL expression (:class:`Operand`) or a
multi-valued attribute (:class:`Many`, tested with ``EXISTS``), with the
kinds of values and how attribute names map into the JSON ``doc``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from inspect import isclass
from typing import TYPE_CHECKING

from scim2_models import BaseModel, Extension
from scim2_models.path import (
    AttributeBinding,
    CompareOperator,
)
from sqlalchemy import (
    ColumnElement,
)

from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import UserResource

if TYPE_CHECKING:
    from scimsrv.storage.filters.scopes import Scope

INVALID_FILTER = "invalidFilter"
INVALID_VALUE = "invalidValue"

ASCENDING = "ascending"
DESCENDING = "descending"

UserModel = UserResource

# Kinds of compared values.
STRING = "string"
BOOLEAN = "boolean"
NUMBER = "number"
DATETIME = "datetime"
COMPLEX = "complex"

ORDERING = {CompareOperator.gt, CompareOperator.ge, CompareOperator.lt, CompareOperator.le}
SUBSTRING = {CompareOperator.co, CompareOperator.sw, CompareOperator.ew}


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, INVALID_FILTER)


@dataclass(frozen=True)
class Operand:
    """One SQL value a comparison applies to."""

    expr: ColumnElement
    kind: str
    case_exact: bool = False
    prefolded: bool = False  # the column already holds str.casefold() text


@dataclass(frozen=True)
class Many:
    """A multi-valued attribute: predicates over it become ``EXISTS``.

    ``exists(build)`` is true when some element satisfies ``build(scope)``,
    where ``scope`` resolves names relative to one element. ``sub`` is the
    sub-attribute a plain comparison addresses (``emails.type`` -> ``type``).
    """

    exists: Callable[[Callable[[Scope], ColumnElement[bool]]], ColumnElement[bool]]
    sub: str | None
    urn: str


def kind_of(binding: AttributeBinding) -> str:
    target = binding.target_type
    if not isclass(target):
        return STRING
    if issubclass(target, bool):
        return BOOLEAN
    if issubclass(target, int | float):
        return NUMBER
    if issubclass(target, datetime):
        return DATETIME
    if issubclass(target, BaseModel):
        return COMPLEX
    return STRING


def scim_name(model: type, field: str) -> str:
    return model._scim_name(field)  # type: ignore[attr-defined]


def json_keys(binding: AttributeBinding, with_sub: bool = True) -> tuple[str, ...]:
    """The keys leading to the attribute inside ``doc``."""
    keys: list[str] = []
    if isclass(binding.model) and issubclass(binding.model, Extension):
        keys.append(binding.model.__schema__)
    keys.append(scim_name(binding.model, binding.field_name))
    if with_sub and binding.sub_field_name:
        keys.append(scim_name(binding.field_type, binding.sub_field_name))
    return tuple(keys)


def json_value(node: ColumnElement, kind: str) -> ColumnElement:
    if kind == BOOLEAN:
        return node.as_boolean()
    if kind == NUMBER:
        return node.as_float()
    return node.as_string()
