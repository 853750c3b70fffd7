"""SCIM filters and sortBy (RFC 7644 §3.4.2.2-§3.4.2.3) as SQL expressions.

scim2-models parses the filter and resolves each attribute path against the
resource schema (names are case-insensitive, RFC 7643 §2.1); this module
turns the tree into one SQLAlchemy boolean expression over the ``scim_user``
or ``scim_group`` row. Attributes held in columns use those columns (and the
tenant-leading indexes); the rest are read from the JSON ``doc``;
memberships (``members``, ``groups``) are ``EXISTS`` over ``group_member``.

Semantics, following scim2-models' reference evaluator:

* strings compare case-insensitively unless the schema marks the attribute
  caseExact (``id``, ``externalId``, ``members.value`` ...);
* a comparison on a multi-valued attribute matches when any value matches,
  except ``ne``, which matches when no value equals the operand;
* a missing attribute never matches ``eq``/``co``/``gt``..., so ``ne`` and
  ``not (...)`` match it;
* ``attr eq null`` means "not present", ``attr ne null`` means present.

Dialect differences stay in :class:`_Dialect`: reading the elements of a JSON
array (``json_each`` / ``jsonb_array_elements``) and folding case (SQLite's
``lower()`` only knows ASCII, so a ``scim_casefold`` function is registered
on the connection by :func:`prepare_connection`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from inspect import isclass
from typing import Any

from scim2_models import BaseModel, Extension, Group, ScimFilter
from scim2_models.exceptions import SCIMException
from scim2_models.path import (
    AttributeBinding,
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
    case,
    column,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from licensing_core.tables import (
    NO_PLAN,
    USER_PLAN_FLAG,
    AssociatePlan,
    LicenseAssocLink,
    ModuleLicense,
)
from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import LICENSING_SCHEMA, UserResource
from scimsrv.storage.tables import Document, GroupMember, ScimGroup, ScimUser

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

_ORDERING = {CompareOperator.gt, CompareOperator.ge, CompareOperator.lt, CompareOperator.le}
_SUBSTRING = {CompareOperator.co, CompareOperator.sw, CompareOperator.ew}


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, INVALID_FILTER)


# --------------------------------------------------------------------------- dialect


def _casefold(value: str | None) -> str | None:
    return value.casefold() if isinstance(value, str) else value


def prepare_connection(session: Session) -> None:
    """Register what the translated SQL needs on the session's connection.

    SQLite gets ``scim_casefold`` (Python's ``str.casefold``) so that
    case-insensitive comparisons of JSON values agree with the casefolded
    ``_ci`` columns for non-ASCII letters too. Cheap and idempotent; call it
    once per transaction before running a query built here.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Once per DBAPI connection: the pool hands the same ones out again.
        record = connection.connection
        if not record.info.get("scim_casefold"):
            record.driver_connection.create_function(
                "scim_casefold", 1, _casefold, deterministic=True
            )
            record.info["scim_casefold"] = True


class _Dialect:
    """The few operations that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {name!r}")
        self.name = name

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def fold(self, expr: ColumnElement) -> ColumnElement:
        return func.scim_casefold(expr) if self.sqlite else func.lower(expr)

    def fold_value(self, value: str) -> ColumnElement:
        # PostgreSQL folds both sides with the same lower(), so they agree
        # whatever its collation does to non-ASCII letters.
        return literal(value.casefold()) if self.sqlite else func.lower(literal(value))

    def elements(self, doc: ColumnElement, keys: tuple[str, ...], ordinality: bool = False):
        """The elements of the JSON array at ``keys`` as a table with a ``value``
        column (typed as JSON) and, with ``ordinality``, a position ``n``."""
        if self.sqlite:
            path = "$" + "".join(f'."{key}"' for key in keys)
            fn = func.json_each(doc, path)
            if ordinality:
                return fn.table_valued(column("value", Document), column("key")).alias()
            return fn.table_valued(column("value", Document)).alias()
        array = doc[keys] if len(keys) > 1 else doc[keys[0]]
        fn = func.jsonb_array_elements(array)
        if ordinality:
            return fn.table_valued(column("value", Document), with_ordinality="n").render_derived()
        return fn.table_valued(column("value", Document)).render_derived()

    def position(self, elements) -> ColumnElement:
        return elements.c.key if self.sqlite else elements.c.n


# --------------------------------------------------------------------------- operands


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

    exists: Callable[[Callable[[_Scope], ColumnElement[bool]]], ColumnElement[bool]]
    sub: str | None
    urn: str


def _kind(binding: AttributeBinding) -> str:
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


def _scim_name(model: type, field: str) -> str:
    return model._scim_name(field)  # type: ignore[attr-defined]


def _json_keys(binding: AttributeBinding, with_sub: bool = True) -> tuple[str, ...]:
    """The keys leading to the attribute inside ``doc``."""
    keys: list[str] = []
    if isclass(binding.model) and issubclass(binding.model, Extension):
        keys.append(binding.model.__schema__)
    keys.append(_scim_name(binding.model, binding.field_name))
    if with_sub and binding.sub_field_name:
        keys.append(_scim_name(binding.field_type, binding.sub_field_name))
    return tuple(keys)


def _json_value(node: ColumnElement, kind: str) -> ColumnElement:
    if kind == BOOLEAN:
        return node.as_boolean()
    if kind == NUMBER:
        return node.as_float()
    return node.as_string()


class _Scope:
    """Resolves attribute paths to operands in one place of the query."""

    def target(self, path: AttrPath, comparison: bool) -> Operand | Many:
        raise NotImplementedError


class _ResourceScope(_Scope):
    """Attribute paths of a resource row."""

    def __init__(self, spec: ResourceSpec, dialect: _Dialect, tenant_id: str | None = None) -> None:
        self.spec = spec
        self.dialect = dialect
        self.tenant_id = tenant_id

    def binding(self, path: AttrPath, comparison: bool = False) -> AttributeBinding:
        try:
            if comparison:
                binding = self.spec.resolver.resolve_comparison(path, strict=True)
            else:
                binding = self.spec.resolver.resolve(path, strict=True)
        except SCIMException as exc:
            raise invalid_filter(
                f"unknown attribute '{path}' for {self.spec.name} resources"
            ) from exc
        assert binding is not None
        return binding

    def target(self, path: AttrPath, comparison: bool) -> Operand | Many:
        binding = self.binding(path, comparison)
        key = (binding.field_name, binding.sub_field_name)
        core = not (isclass(binding.model) and issubclass(binding.model, Extension))
        if core and binding.field_name in self.spec.unfilterable:
            raise invalid_filter(f"attribute '{binding.urn}' cannot be filtered or sorted on")
        if core and key in self.spec.columns:
            return self.spec.columns[key]
        if core and binding.field_name == self.spec.membership_attr:
            return self.spec.membership(self.dialect, binding)
        if not core and binding.model.__schema__ in self.spec.computed:
            return self.spec.computed[binding.model.__schema__](binding, self.tenant_id)
        if binding.is_multivalued:
            return self._json_many(binding)
        if binding.field_name == "meta":
            raise invalid_filter(f"attribute '{binding.urn}' cannot be filtered or sorted on")
        kind = _kind(binding)
        node = self.spec.table.doc[_json_keys(binding)]
        return Operand(_json_value(node, kind), kind, binding.case_exact)

    def _json_many(self, binding: AttributeBinding) -> Many:
        keys = _json_keys(binding, with_sub=False)
        dialect = self.dialect
        item_model = binding.field_type

        def build(predicate):
            elements = dialect.elements(self.spec.table.doc, keys)
            scope = _ElementScope(self, binding, elements)
            return exists(select(literal(1)).select_from(elements).where(predicate(scope)))

        sub = (
            _scim_name(item_model, binding.sub_field_name)
            if binding.sub_field_name
            else ("value" if isclass(item_model) and issubclass(item_model, BaseModel) else None)
        )
        return Many(build, sub, binding.urn)


class _ElementScope(_Scope):
    """Sub-attributes of one element of a multi-valued JSON attribute."""

    def __init__(self, parent: _ResourceScope, head: AttributeBinding, elements) -> None:
        self.parent = parent
        self.head = head
        self.elements = elements

    def target(self, path: AttrPath, comparison: bool) -> Operand | Many:
        item_model = self.head.field_type
        value = self.elements.c.value
        if not (isclass(item_model) and issubclass(item_model, BaseModel)):
            # A list of plain values: "value" names the element itself.
            if path.attr.lower() != "value" or path.sub_attr or path.uri:
                raise invalid_filter(f"'{path}' is not a sub-attribute of '{self.head.urn}'")
            return Operand(_json_value(value, STRING), STRING, self.head.case_exact)
        if path.sub_attr or path.uri:
            raise invalid_filter(f"'{path}' is not a sub-attribute of '{self.head.urn}'")
        head_path = AttrPath(
            _scim_name(self.head.model, self.head.field_name),
            path.attr,
            self.head.model.__schema__ if issubclass(self.head.model, Extension) else None,
        )
        binding = self.parent.binding(head_path)
        kind = _kind(binding)
        if kind == COMPLEX:
            raise invalid_filter(f"'{path}' is not a sub-attribute of '{self.head.urn}'")
        key = _scim_name(item_model, binding.sub_field_name)
        return Operand(_json_value(value[key], kind), kind, binding.case_exact)


class _MembershipScope(_Scope):
    """Sub-attributes of one membership row: ``value``, ``display``, ``type``."""

    def __init__(self, operands: dict[str, Operand], urn: str) -> None:
        self.operands = operands
        self.urn = urn

    def target(self, path: AttrPath, comparison: bool) -> Operand | Many:
        name = path.attr.lower()
        if path.sub_attr or path.uri or name not in self.operands:
            raise invalid_filter(f"'{path}' is not a filterable sub-attribute of '{self.urn}'")
        return self.operands[name]


def _memberships(binding: AttributeBinding, owner, side: str, other, operands) -> Many:
    """A membership attribute seen from one side: ``members`` of a group
    (``side`` = "group_id", the other side users) or ``groups`` of a user
    (``side`` = "user_id", the other side groups). ``operands(gm, other)``
    names the sub-attributes of one membership row."""
    other_side = "user_id" if side == "group_id" else "group_id"

    def build(predicate):
        gm = aliased(GroupMember)
        joined = aliased(other)
        scope = _MembershipScope(operands(gm, joined), binding.urn)
        return exists(
            select(literal(1))
            .select_from(gm)
            .join(
                joined,
                and_(joined.tenant_id == gm.tenant_id, joined.id == getattr(gm, other_side)),
            )
            .where(
                gm.tenant_id == owner.tenant_id,
                getattr(gm, side) == owner.id,
                predicate(scope),
            )
        )

    return Many(build, _sub_name(binding), binding.urn)


def _group_members(dialect: _Dialect, binding: AttributeBinding) -> Many:
    """``members`` of a group: rows of group_member, display from scim_user."""
    return _memberships(
        binding,
        ScimGroup,
        "group_id",
        ScimUser,
        lambda gm, user: {
            "value": Operand(gm.user_id, STRING, case_exact=True),
            "display": Operand(user.display_name, STRING),
            "type": Operand(literal("User"), STRING),
            "$ref": Operand(gm.user_id, STRING, case_exact=True),
        },
    )


def _user_groups(dialect: _Dialect, binding: AttributeBinding) -> Many:
    """``groups`` of a user (read-only, RFC 7643 §4.1.2): the groups holding it."""
    return _memberships(
        binding,
        ScimUser,
        "user_id",
        ScimGroup,
        lambda gm, group: {
            "value": Operand(gm.group_id, STRING, case_exact=True),
            "display": Operand(group.display_name_ci, STRING, prefolded=True),
            "type": Operand(literal("direct"), STRING),
            "$ref": Operand(gm.group_id, STRING, case_exact=True),
        },
    )


def _plan_state(attribute) -> ColumnElement:
    """The user's value of one associate_plan column (NULL when it has no row)."""
    return (
        select(attribute)
        .where(
            AssociatePlan.tenant_id == ScimUser.tenant_id,
            AssociatePlan.associate_id == ScimUser.associate_id,
        )
        .scalar_subquery()
    )


def _held_modules(binding: AttributeBinding, plans_only: bool, tenant_id: str | None) -> Many:
    """Modules the user holds links to: ``licenses`` (all), ``basePlans`` (plans).

    With the tenant known, the holders are one uncorrelated subquery (computed
    once, whatever the planner's statistics say) instead of a probe per user.
    """
    tenant = ScimUser.tenant_id if tenant_id is None else tenant_id

    def build(predicate):
        link = aliased(LicenseAssocLink)
        module = aliased(ModuleLicense)
        # Plan names fold to their module code names ("Sales-Premium" -> "sales-premium").
        value = Operand(module.module_name, STRING, case_exact=not plans_only, prefolded=plans_only)
        conditions = [
            link.tenant_id == tenant,
            module.tenant_id == tenant,
            predicate(_MembershipScope({"value": value}, binding.urn)),
        ]
        if plans_only:
            conditions.append(module.extra_flags.op("&")(USER_PLAN_FLAG) == USER_PLAN_FLAG)
        holders = (
            select(link.assoc_id)
            .join(module, module.id == link.module_license_id)
            .where(*conditions)
        )
        return ScimUser.associate_id.in_(holders)

    # A list of plain strings: a comparison addresses each element as "value".
    return Many(build, "value", binding.urn)


def _licensing(binding: AttributeBinding, tenant_id: str | None) -> Operand | Many:
    """The read-only licensing extension, computed from plan state and links."""
    name = binding.field_name
    if name == "state":
        return Operand(func.coalesce(_plan_state(AssociatePlan.state), NO_PLAN), STRING)
    if name in ("plan_combination", "requested_plans", "reason"):
        attribute = {
            "plan_combination": AssociatePlan.granted,
            "requested_plans": AssociatePlan.requested,
            "reason": AssociatePlan.reason,
        }[name]
        return Operand(func.nullif(_plan_state(attribute), ""), STRING)
    return _held_modules(binding, name == "base_plans", tenant_id)


def _sub_name(binding: AttributeBinding) -> str | None:
    if binding.sub_field_name is None:
        return None
    return _scim_name(binding.field_type, binding.sub_field_name)


@dataclass(frozen=True)
class ResourceSpec:
    """How one resource type's attributes map to its table."""

    name: str
    table: type[ScimUser] | type[ScimGroup]
    resolver: ScimFilter
    columns: dict[tuple[str, str | None], Operand]
    membership_attr: str
    membership: Callable[[_Dialect, AttributeBinding], Many]
    unfilterable: frozenset[str]
    # Extension attributes computed from other tables: (binding, tenant id or None).
    computed: dict[str, Callable[[AttributeBinding, str | None], Operand | Many]] = field(
        default_factory=dict
    )


USERS = ResourceSpec(
    name="User",
    table=ScimUser,
    resolver=ScimFilter[UserModel]("id pr"),
    columns={
        ("id", None): Operand(ScimUser.id, STRING, case_exact=True),
        ("external_id", None): Operand(ScimUser.external_id, STRING, case_exact=True),
        ("user_name", None): Operand(ScimUser.user_name_ci, STRING, prefolded=True),
        ("display_name", None): Operand(ScimUser.display_name, STRING),
        ("active", None): Operand(ScimUser.active, BOOLEAN),
        ("meta", "created"): Operand(ScimUser.created, DATETIME),
        ("meta", "last_modified"): Operand(ScimUser.last_modified, DATETIME),
        ("meta", "resource_type"): Operand(literal("User"), STRING, case_exact=True),
    },
    membership_attr="groups",
    membership=_user_groups,
    unfilterable=frozenset({"password", "schemas"}),
    computed={LICENSING_SCHEMA: _licensing},
)

GROUPS = ResourceSpec(
    name="Group",
    table=ScimGroup,
    resolver=ScimFilter[Group]("id pr"),
    columns={
        ("id", None): Operand(ScimGroup.id, STRING, case_exact=True),
        ("external_id", None): Operand(ScimGroup.external_id, STRING, case_exact=True),
        ("display_name", None): Operand(ScimGroup.display_name_ci, STRING, prefolded=True),
        ("meta", "created"): Operand(ScimGroup.created, DATETIME),
        ("meta", "last_modified"): Operand(ScimGroup.last_modified, DATETIME),
        ("meta", "resource_type"): Operand(literal("Group"), STRING, case_exact=True),
    },
    membership_attr="members",
    membership=_group_members,
    unfilterable=frozenset({"schemas"}),
)


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


class _Translator:
    def __init__(self, root: _ResourceScope) -> None:
        self.root = root
        self.dialect = root.dialect

    def visit(self, node: FilterNode, scope: _Scope) -> ColumnElement[bool]:
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
            if not isinstance(scope, _ResourceScope):
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
            if op in _SUBSTRING:
                raise invalid_filter(f"operator '{op.value}' cannot be applied to a dateTime")
            return and_(expr.is_not(None), _ordering(op, expr, parse_datetime(value)))
        if kind == NUMBER:
            if op in _SUBSTRING or isinstance(value, bool) or not isinstance(value, int | float):
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

        if op in _SUBSTRING:
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
    node = parse_filter(text)
    root = _ResourceScope(spec, _Dialect(dialect), tenant_id)
    return _Translator(root).visit(node, root)


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
    d = _Dialect(dialect)
    scope = _ResourceScope(spec, d)
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


def _sort_operand(target: Operand, dialect: _Dialect) -> ColumnElement:
    if target.kind != STRING or target.case_exact or target.prefolded:
        return target.expr
    return dialect.fold(target.expr)


def _sort_many(scope: _ResourceScope, path: AttrPath, sort_by: str):
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
        scope.spec.table.doc, _json_keys(binding, with_sub=False), ordinality=True
    )
    kind = _kind(binding)
    value = _json_value(elements.c.value[_scim_name(item_model, binding.sub_field_name)], kind)
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


__all__ = [
    "ASCENDING",
    "DESCENDING",
    "GROUPS",
    "USERS",
    "ResourceSpec",
    "SortKey",
    "filter_clause",
    "parse_datetime",
    "parse_filter",
    "prepare_connection",
    "sort_key",
]
