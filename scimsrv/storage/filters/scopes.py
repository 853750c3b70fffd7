"""Resolving attribute paths to operands: on a resource row, inside one element
of a multi-valued JSON attribute, on a membership row (``members``,
``groups``), and the licensing extension computed from plan state and links."""

from __future__ import annotations

from inspect import isclass
from typing import TYPE_CHECKING

from scim2_models import BaseModel, Extension
from scim2_models.exceptions import SCIMException
from scim2_models.path import (
    AttributeBinding,
    AttrPath,
)
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import aliased

from licensing_core.tables import (
    NO_PLAN,
    USER_PLAN_FLAG,
    AssociatePlan,
    LicenseAssocLink,
    ModuleLicense,
)
from scimsrv.storage.filters.dialect import Dialect
from scimsrv.storage.filters.operands import (
    COMPLEX,
    STRING,
    Many,
    Operand,
    invalid_filter,
    json_keys,
    json_value,
    kind_of,
    scim_name,
)
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

if TYPE_CHECKING:
    from scimsrv.storage.filters.resources import ResourceSpec


class Scope:
    """Resolves attribute paths to operands in one place of the query."""

    def target(self, path: AttrPath, comparison: bool) -> Operand | Many:
        raise NotImplementedError


class ResourceScope(Scope):
    """Attribute paths of a resource row."""

    def __init__(self, spec: ResourceSpec, dialect: Dialect, tenant_id: str | None = None) -> None:
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
        kind = kind_of(binding)
        node = self.spec.table.doc[json_keys(binding)]
        return Operand(json_value(node, kind), kind, binding.case_exact)

    def _json_many(self, binding: AttributeBinding) -> Many:
        keys = json_keys(binding, with_sub=False)
        dialect = self.dialect
        item_model = binding.field_type

        def build(predicate):
            elements = dialect.elements(self.spec.table.doc, keys)
            scope = ElementScope(self, binding, elements)
            return exists(select(literal(1)).select_from(elements).where(predicate(scope)))

        sub = (
            scim_name(item_model, binding.sub_field_name)
            if binding.sub_field_name
            else ("value" if isclass(item_model) and issubclass(item_model, BaseModel) else None)
        )
        return Many(build, sub, binding.urn)


class ElementScope(Scope):
    """Sub-attributes of one element of a multi-valued JSON attribute."""

    def __init__(self, parent: ResourceScope, head: AttributeBinding, elements) -> None:
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
            return Operand(json_value(value, STRING), STRING, self.head.case_exact)
        if path.sub_attr or path.uri:
            raise invalid_filter(f"'{path}' is not a sub-attribute of '{self.head.urn}'")
        head_path = AttrPath(
            scim_name(self.head.model, self.head.field_name),
            path.attr,
            self.head.model.__schema__ if issubclass(self.head.model, Extension) else None,
        )
        binding = self.parent.binding(head_path)
        kind = kind_of(binding)
        if kind == COMPLEX:
            raise invalid_filter(f"'{path}' is not a sub-attribute of '{self.head.urn}'")
        key = scim_name(item_model, binding.sub_field_name)
        return Operand(json_value(value[key], kind), kind, binding.case_exact)


class MembershipScope(Scope):
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
        scope = MembershipScope(operands(gm, joined), binding.urn)
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

    return Many(build, sub_name(binding), binding.urn)


def group_members(dialect: Dialect, binding: AttributeBinding) -> Many:
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


def user_groups(dialect: Dialect, binding: AttributeBinding) -> Many:
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
            predicate(MembershipScope({"value": value}, binding.urn)),
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


def licensing_attribute(binding: AttributeBinding, tenant_id: str | None) -> Operand | Many:
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


def sub_name(binding: AttributeBinding) -> str | None:
    if binding.sub_field_name is None:
        return None
    return scim_name(binding.field_type, binding.sub_field_name)
