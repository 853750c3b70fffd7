"""A SCIM filter (RFC 7644 §3.4.2.2) as one SQL boolean expression over a resource row.

Semantics, following scim2-models' reference evaluator:

* strings compare case-insensitively unless the schema marks the attribute
  caseExact (``id``, ``externalId``, ``members.value`` ...);
* a comparison on a multi-valued attribute matches when any value matches,
  except ``ne``, which matches when no value equals the operand;
* a missing attribute never matches ``eq``/``co``/``gt``..., so ``ne`` and
  ``not (...)`` match it;
* ``attr eq null`` means "not present", ``attr ne null`` means present."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from scim2_models import ScimFilter
from scim2_models.exceptions import SCIMException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal,
    not_,
    or_,
    true,
)

from scimsrv.scim.errors import ScimError
from scimsrv.scim.values import storable
from scimsrv.storage.filters.dialect import Dialect
from scimsrv.storage.filters.operands import (
    BOOLEAN,
    COMPLEX,
    DATETIME,
    NUMBER,
    STRING,
    SUBSTRING,
    Many,
    Operand,
    invalid_filter,
)
from scimsrv.storage.filters.resources import ResourceSpec
from scimsrv.storage.filters.scopes import ResourceScope, Scope

# --------------------------------------------------------------------------- comparisons


def parse_datetime(value: Any) -> datetime:
    """A filter's dateTime operand as naive UTC, the form the columns hold."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise invalid_filter(f"{value!r} is not a dateTime (RFC 7643 §2.3.5)") from exc
    else:
        raise invalid_filter(f"{value!r} is not a dateTime (RFC 7643 §2.3.5)")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Translator:
    def __init__(self, root: ResourceScope) -> None:
        self.root = root
        self.dialect = root.dialect

    def visit(self, node: FilterNode, scope: Scope) -> ColumnElement[bool]:
        if isinstance(node, LogicalExpr):
            terms = [self.visit(term, scope) for term in node.terms]
            return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
        if isinstance(node, Not):
            return not_(self.visit(node.expr, scope))
        if isinstance(node, Present):
            return self.present(scope.target(node.attr_path, comparison=False))
        if isinstance(node, Comparison):
            target = scope.target(node.attr_path, comparison=True)
            return self.compare(target, node.op, node.value)
        if isinstance(node, ValuePath):
            if not isinstance(scope, ResourceScope):
                raise invalid_filter("a value filter cannot be nested in another")
            target = scope.target(node.attr_path, comparison=False)
            if not isinstance(target, Many):
                raise invalid_filter(
                    f"'{node.attr_path}' is not multi-valued: [ ] selects values of "
                    "a multi-valued attribute"
                )
            return target.exists(lambda inner: self.visit(node.val_filter, inner))
        raise invalid_filter(f"unsupported filter expression {node}")

    # pr ------------------------------------------------------------------
    def present(self, target: Operand | Many) -> ColumnElement[bool]:
        if isinstance(target, Many):
            if target.sub is None:
                return target.exists(lambda inner: true())
            sub = AttrPath(target.sub)
            return target.exists(lambda inner: self.present(inner.target(sub, False)))
        if target.kind == STRING:
            return and_(target.expr.is_not(None), target.expr != "")
        return target.expr.is_not(None)

    # eq ne co sw ew gt ge lt le --------------------------------------------
    def compare(self, target: Operand | Many, op: CompareOperator, value: Any):
        if isinstance(value, str):
            _storable_literal(value)
        if isinstance(target, Many):
            if target.sub is None:
                raise invalid_filter(
                    f"'{target.urn}' is complex: compare one of its sub-attributes"
                )
            sub = AttrPath(target.sub)
            if op == CompareOperator.ne:
                # No value equals the operand (scim2-models' reading of ne).
                return not_(
                    target.exists(
                        lambda inner: self.compare(
                            inner.target(sub, True), CompareOperator.eq, value
                        )
                    )
                )
            return target.exists(lambda inner: self.compare(inner.target(sub, True), op, value))

        if op == CompareOperator.ne:
            return not_(self.compare(target, CompareOperator.eq, value))
        if value is None:
            if op == CompareOperator.eq:
                return not_(self.present(target))
            raise invalid_filter(f"operator '{op.value}' cannot compare with null")

        expr, kind = target.expr, target.kind
        if kind == COMPLEX:
            raise invalid_filter("a complex attribute can only be tested with 'pr'")
        if kind == BOOLEAN:
            flag = _as_bool(value)
            if op != CompareOperator.eq:
                raise invalid_filter(f"operator '{op.value}' cannot be applied to a boolean")
            return and_(expr.is_not(None), expr == flag)
        if kind == DATETIME:
            if op in SUBSTRING:
                raise invalid_filter(f"operator '{op.value}' cannot be applied to a dateTime")
            return and_(expr.is_not(None), _ordering(op, expr, parse_datetime(value)))
        if kind == NUMBER:
            if op in SUBSTRING or isinstance(value, bool) or not isinstance(value, int | float):
                raise invalid_filter(f"{value!r} is not a number, or '{op.value}' needs a string")
            return and_(expr.is_not(None), _ordering(op, expr, value))
        return self.compare_string(target, op, value)

    def compare_string(self, target: Operand, op: CompareOperator, value: Any):
        if isinstance(value, bool):
            raise invalid_filter(f"{str(value).lower()} is not a string")
        if isinstance(value, int | float):
            # Entra sends externalId unquoted at times.
            value = str(value)
        if not isinstance(value, str):
            raise invalid_filter(f"{value!r} is not a string")
        expr = target.expr
        dialect = self.dialect
        guard = expr.is_not(None)

        if op in SUBSTRING:
            pattern = _escape_like(value)
            pattern = {
                CompareOperator.co: f"%{pattern}%",
                CompareOperator.sw: f"{pattern}%",
                CompareOperator.ew: f"%{pattern}",
            }[op]
            if target.case_exact:
                condition = expr.like(pattern, escape="\\")
                if dialect.sqlite:
                    # SQLite's LIKE ignores ASCII case; add the exact test.
                    condition = and_(condition, _exact_substring(op, expr, value))
            elif target.prefolded:
                condition = expr.like(pattern.casefold(), escape="\\")
            else:
                condition = dialect.fold(expr).like(dialect.fold_value(pattern), escape="\\")
            return and_(guard, condition)

        if target.case_exact:
            left, right = expr, literal(value)
        elif target.prefolded:
            left, right = expr, literal(value.casefold())
        else:
            left, right = dialect.fold(expr), dialect.fold_value(value)
        return and_(guard, _ordering(op, left, right))


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    # Entra's default dialect writes booleans as the strings "True"/"False".
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_filter(f"{value!r} is not a boolean")


def _ordering(op: CompareOperator, left, right) -> ColumnElement[bool]:
    if op == CompareOperator.eq:
        return left == right
    if op == CompareOperator.gt:
        return left > right
    if op == CompareOperator.ge:
        return left >= right
    if op == CompareOperator.lt:
        return left < right
    if op == CompareOperator.le:
        return left <= right
    raise invalid_filter(f"operator '{op.value}' is not supported here")


def _exact_substring(op: CompareOperator, expr, value: str) -> ColumnElement[bool]:
    if op == CompareOperator.co:
        return func.instr(expr, value) > 0
    if op == CompareOperator.sw:
        return func.substr(expr, 1, len(value)) == value
    return func.substr(expr, -len(value)) == value if value else true()


# --------------------------------------------------------------------------- public API


def parse_filter(text: str) -> FilterNode:
    """The syntax tree of a filter; a malformed one is a 400 invalidFilter."""
    try:
        return ScimFilter(text).ast
    except SCIMException as exc:
        raise invalid_filter(f"malformed filter {text!r}: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise invalid_filter(f"malformed filter {text!r}: {exc}") from exc


def filter_clause(
    spec: ResourceSpec, text: str, dialect: str, tenant_id: str | None = None
) -> ColumnElement[bool]:
    """The WHERE clause (without the tenant condition) selecting the rows of
    ``spec``'s table that match the SCIM filter ``text``.

    :param dialect: ``session.get_bind().dialect.name``.
    :param tenant_id: the tenant the query is for; lets attributes computed
        from other tables be read with one uncorrelated subquery.
    :raises ScimError: 400 ``invalidFilter`` for a malformed filter, an unknown
        attribute, or an operator/value the attribute cannot take.
    """
    root = ResourceScope(spec, Dialect(dialect), tenant_id)
    simple = _SIMPLE_EQ.match(text)
    operand = simple and spec.plain_columns.get(simple.group(1).lower())
    if operand is not None:
        # What identity providers send on every sync, ``userName eq "..."``:
        # the same comparison as the full path, without parsing the filter.
        return Translator(root).compare(operand, CompareOperator.eq, simple.group(2))
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid_filter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    node = parse_filter(text)
    if _terms(node) > MAX_FILTER_TERMS:
        raise invalid_filter(f"the filter has more than {MAX_FILTER_TERMS} comparisons")
    return Translator(root).visit(node, root)


# Far more than any identity provider sends, far less than SQLite's limit of
# 1,000 on the depth of an expression (a chain of ``or`` nests one deeper each).
MAX_FILTER_LENGTH = 10_000
MAX_FILTER_TERMS = 200


def _storable_literal(value: str) -> None:
    """A string literal the databases can compare with (no NUL, no lone surrogate)."""
    try:
        storable(value, "a filter value")
    except ScimError as exc:
        raise invalid_filter(exc.detail) from None


def _terms(node: FilterNode) -> int:
    """How many comparisons (and ``pr`` tests) a filter makes."""
    if isinstance(node, LogicalExpr):
        return sum(_terms(term) for term in node.terms)
    if isinstance(node, Not):
        return _terms(node.expr)
    if isinstance(node, ValuePath):
        return _terms(node.val_filter)
    return 1


# ``attr eq "literal"`` with a plain attribute name and no escapes in the literal.
_SIMPLE_EQ = re.compile(r'^\s*([A-Za-z][A-Za-z0-9]*)\s+eq\s+"([^"\\]*)"\s*$', re.IGNORECASE)
