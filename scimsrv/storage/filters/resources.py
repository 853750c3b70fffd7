"""How each resource type's attributes map to its table: the columns, the
membership attribute, what cannot be filtered, what is computed, and what a
page reads joined with each row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from scim2_models import Group, ScimFilter
from scim2_models.path import (
    AttributeBinding,
)
from sqlalchemy import (
    literal,
)

from scimsrv.scim.urns import LICENSING_SCHEMA
from scimsrv.storage.filters.dialect import Dialect
from scimsrv.storage.filters.operands import (
    BOOLEAN,
    DATETIME,
    STRING,
    Many,
    Operand,
    UserModel,
    scim_name,
)
from scimsrv.storage.filters.scopes import group_members, licensing_attribute, user_groups
from scimsrv.storage.tables import ScimGroup, ScimUser


@dataclass(frozen=True)
class ResourceSpec:
    """How one resource type's attributes map to its table."""

    name: str
    model: type
    table: type[ScimUser] | type[ScimGroup]
    resolver: ScimFilter
    columns: dict[tuple[str, str | None], Operand]
    membership_attr: str
    membership: Callable[[Dialect, AttributeBinding], Many]
    unfilterable: frozenset[str]
    # Extension attributes computed from other tables: (binding, tenant id or None).
    computed: dict[str, Callable[[AttributeBinding, str | None], Operand | Many]] = field(
        default_factory=dict
    )

    @cached_property
    def plain_columns(self) -> dict[str, Operand]:
        """The string columns a core attribute name (lower case) stands for alone."""
        return {
            scim_name(self.model, name).lower(): operand
            for (name, sub), operand in self.columns.items()
            if sub is None and operand.kind == STRING
        }


USERS = ResourceSpec(
    name="User",
    model=UserModel,
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
    membership=user_groups,
    unfilterable=frozenset({"password", "schemas"}),
    computed={LICENSING_SCHEMA: licensing_attribute},
)

GROUPS = ResourceSpec(
    name="Group",
    model=Group,
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
    membership=group_members,
    unfilterable=frozenset({"schemas"}),
)
