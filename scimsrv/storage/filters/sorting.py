"""sortBy and sortOrder (RFC 7644 §3.4.2.3) as an ORDER BY key."""

from __future__ import annotations

from dataclasses import dataclass
from inspect import isclass

from scim2_models import BaseModel, Extension
from scim2_models.path import (
    AttrPath,
    Present,
)
from sqlalchemy import (
    ColumnElement,
    case,
    literal,
    select,
    true,
)

from scimsrv.scim.errors import ScimError
from scimsrv.storage.filters.dialect import Dialect
from scimsrv.storage.filters.operands import (
    ASCENDING,
    COMPLEX,
    DESCENDING,
    INVALID_VALUE,
    STRING,
    Many,
    Operand,
    invalid_filter,
    json_keys,
    json_value,
    kind_of,
    scim_name,
)
from scimsrv.storage.filters.resources import ResourceSpec
from scimsrv.storage.filters.scopes import ResourceScope
from scimsrv.storage.filters.translate import parse_filter


@dataclass(frozen=True)
class SortKey:
    """An ORDER BY for sortBy (RFC 7644 §3.4.2.3).

    ``expr`` is the key; rows without a value sort last in both directions,
    then every order ends with ``id`` ascending so pages are stable.
    ``kind`` says how a cursor stores a key value.
    """

    attribute: str
    expr: ColumnElement
    kind: str
    descending: bool


def sort_key(
    spec: ResourceSpec, sort_by: str | None, sort_order: str | None, dialect: str
) -> SortKey:
    """The sort key for ``sortBy``/``sortOrder``; no sortBy sorts by ``id``.

    Strings sort by their case-folded value unless caseExact. A multi-valued
    attribute (``emails`` = ``emails.value``, ``emails.type``) sorts by the
    value of its ``primary`` entry, else its first entry, as RFC 7644
    §3.4.2.3 prescribes. ``members``/``groups`` cannot be sorted on.

    :raises ScimError: 400 ``invalidValue`` for an unknown or unsortable
        attribute or a sortOrder other than ascending/descending.
    """
    order = (sort_order or ASCENDING).lower()
    if order not in (ASCENDING, DESCENDING):
        raise ScimError(
            400, f"sortOrder must be ascending or descending, not {sort_order!r}", INVALID_VALUE
        )
    descending = order == DESCENDING
    if not sort_by:
        return SortKey("", literal(None), STRING, descending)
    d = Dialect(dialect)
    scope = ResourceScope(spec, d)
    try:
        node = parse_filter(f"{sort_by} pr")
        if not isinstance(node, Present):
            raise invalid_filter("not an attribute path")
        target = scope.target(node.attr_path, comparison=True)
    except ScimError as exc:
        raise ScimError(400, f"cannot sort by {sort_by!r}: {exc.detail}", INVALID_VALUE) from exc
    if isinstance(target, Many):
        expr, kind = _sort_many(scope, node.attr_path, sort_by)
    else:
        expr, kind = _sort_operand(target, d), target.kind
    if kind == COMPLEX:
        raise ScimError(400, f"cannot sort by the complex attribute {sort_by!r}", INVALID_VALUE)
    return SortKey(sort_by.lower(), expr, kind, descending)


def _sort_operand(target: Operand, dialect: Dialect) -> ColumnElement:
    if target.kind != STRING or target.case_exact or target.prefolded:
        return target.expr
    return dialect.fold(target.expr)


def _sort_many(scope: ResourceScope, path: AttrPath, sort_by: str):
    binding = scope.binding(path, comparison=True)
    core = not issubclass(binding.model, Extension)
    if core and binding.field_name == scope.spec.membership_attr:
        raise ScimError(400, f"cannot sort by {sort_by!r}", INVALID_VALUE)
    item_model = binding.field_type
    if (
        not (isclass(item_model) and issubclass(item_model, BaseModel))
        or not binding.sub_field_name
    ):
        raise ScimError(400, f"cannot sort by {sort_by!r}", INVALID_VALUE)
    dialect = scope.dialect
    elements = dialect.elements(
        scope.spec.table.doc, json_keys(binding, with_sub=False), ordinality=True
    )
    kind = kind_of(binding)
    value = json_value(elements.c.value[scim_name(item_model, binding.sub_field_name)], kind)
    operand = Operand(value, kind, binding.case_exact)
    order = [dialect.position(elements)]
    if "primary" in item_model.model_fields:
        primary = elements.c.value["primary"].as_boolean()
        order.insert(0, case((primary == true(), 0), else_=1))
    subquery = (
        select(_sort_operand(operand, dialect))
        .select_from(elements)
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )
    return subquery, kind
