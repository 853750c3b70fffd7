"""What the resource endpoints need from storage, in one place.

TEMPORARY: the SCIM storage layer (``scimsrv.store``, ``scimsrv.filters``) had
not landed when the endpoints were written, so this module implements the
calls directly on :mod:`scimsrv.scim_tables` with a deliberately small filter
subset (``eq`` on indexed columns, joined by ``and``). Its public surface
(:class:`UserStore`, :class:`GroupStore`, :class:`Page`) is what the endpoints
use; once the store lands, these classes become thin adapters over it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scim2_models import Context, SearchRequest
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensing_core.tables import Associate
from scimsrv.errors import ScimError
from scimsrv.resources.models import GroupResource, UserResource
from scimsrv.scim_tables import GroupMember, ScimGroup, ScimUser


@dataclass
class Page:
    resources: list[Any]
    total: int
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def version_tag(version: int) -> str:
    return f'W/"{version}"'


def _meta(resource_type: str, row: Any) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": row.created.replace(tzinfo=UTC).isoformat(),
        "lastModified": row.last_modified.replace(tzinfo=UTC).isoformat(),
        "version": version_tag(row.version),
    }


def _doc(resource: Any, columns: Iterable[str]) -> dict[str, Any]:
    body = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "schemas", "groups", "members", *columns):
        body.pop(key, None)
    return body


_FILTER_COLUMNS_USER = {
    "username": ("user_name_ci", True),
    "externalid": ("external_id", False),
    "id": ("id", False),
    "displayname": ("display_name", False),
    "active": ("active", False),
}
_FILTER_COLUMNS_GROUP = {
    "displayname": ("display_name_ci", True),
    "externalid": ("external_id", False),
    "id": ("id", False),
}


def _where(table: Any, node: Any, columns: dict[str, tuple[str, bool]]) -> Any:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        clauses = [_where(table, term, columns) for term in node.terms]
        out = clauses[0]
        for clause in clauses[1:]:
            out = out & clause
        return out
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.sub_attr is None
        and node.attr_path.attr.lower() in columns
    ):
        name, folded = columns[node.attr_path.attr.lower()]
        value = node.value.casefold() if folded and isinstance(node.value, str) else node.value
        return getattr(table, name) == value
    raise ScimError(400, f"filter not supported yet: {node}", "invalidFilter")


class _Store:
    table: Any
    columns: dict[str, tuple[str, bool]]

    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _row(self, resource_id: str, lock: bool = False) -> Any:
        query = select(self.table).where(
            self.table.tenant_id == self.tenant_id, self.table.id == resource_id
        )
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def _query(self, search: SearchRequest) -> tuple[Select, int]:
        base = select(self.table).where(self.table.tenant_id == self.tenant_id)
        if search.filter is not None:
            base = base.where(_where(self.table, search.filter.ast, self.columns))
        total = self.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        return base, total

    def _page(self, search: SearchRequest, count: int) -> tuple[list[Any], int]:
        base, total = self._query(search)
        order = [self.table.created, self.table.id]
        if search.sort_by is not None:
            key = str(search.sort_by).lower().rsplit(":", 1)[-1]
            if key not in self.columns:
                raise ScimError(
                    400, f"sorting on {search.sort_by} not supported yet", "invalidPath"
                )
            column = getattr(self.table, self.columns[key][0])
            if search.sort_order == SearchRequest.SortOrder.descending:
                column = column.desc()
            order = [column, self.table.id]
        start = search.start_index or 1
        rows = self.session.scalars(base.order_by(*order).offset(start - 1).limit(count)).all()
        return list(rows), total

    def touch(self, row: Any) -> None:
        row.version += 1
        row.last_modified = _now()

    def delete(self, resource_id: str) -> bool:
        row = self._row(resource_id, lock=True)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True


class UserStore(_Store):
    table = ScimUser
    columns = _FILTER_COLUMNS_USER

    def _check_unique(self, user_name: str, own_id: str | None) -> None:
        query = select(ScimUser.id).where(
            ScimUser.tenant_id == self.tenant_id, ScimUser.user_name_ci == user_name.casefold()
        )
        found = self.session.scalar(query)
        if found is not None and found != own_id:
            raise ScimError(409, f"userName '{user_name}' is already taken", "uniqueness")

    def _fill(self, row: ScimUser, user: Any) -> None:
        row.user_name = user.user_name
        row.user_name_ci = user.user_name.casefold()
        row.external_id = user.external_id
        row.active = True if user.active is None else bool(user.active)
        row.display_name = user.display_name
        row.doc = _doc(user, ("userName", "externalId", "active", "displayName"))

    def delete(self, resource_id: str) -> bool:
        row = self._row(resource_id, lock=True)
        if row is None:
            return False
        associate_id = row.associate_id
        self.session.delete(row)
        self.session.flush()
        self.session.execute(
            delete(Associate).where(
                Associate.tenant_id == self.tenant_id, Associate.id == associate_id
            )
        )
        return True

    def create(self, user: Any) -> Any:
        self._check_unique(user.user_name, None)
        now = _now()
        associate = Associate(
            tenant_id=self.tenant_id,
            name=user.user_name.casefold(),
            user_name=user.user_name,
            registered=now,
        )
        self.session.add(associate)
        self.session.flush()
        row = ScimUser(
            tenant_id=self.tenant_id,
            id=str(uuid.uuid4()),
            associate_id=associate.id,
            version=1,
            created=now,
            last_modified=now,
        )
        self._fill(row, user)
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise ScimError(
                409, f"userName '{user.user_name}' is already taken", "uniqueness"
            ) from exc
        return self.to_resource(row)

    def get(self, user_id: str, lock: bool = False) -> Any | None:
        row = self._row(user_id, lock)
        return None if row is None else self.to_resource(row)

    def replace(self, user_id: str, user: Any) -> Any:
        row = self._row(user_id, lock=True)
        if row is None:
            raise ScimError(404, f"User {user_id} not found")
        self._check_unique(user.user_name, user_id)
        self._fill(row, user)
        self.touch(row)
        self.session.flush()
        return self.to_resource(row)

    def query(self, search: SearchRequest, count: int) -> Page:
        rows, total = self._page(search, count)
        return Page([self.to_resource(row) for row in rows], total)

    def to_resource(self, row: ScimUser) -> Any:
        groups = self.session.execute(
            select(ScimGroup.id, ScimGroup.display_name)
            .join(
                GroupMember,
                (GroupMember.tenant_id == ScimGroup.tenant_id)
                & (GroupMember.group_id == ScimGroup.id),
            )
            .where(GroupMember.tenant_id == self.tenant_id, GroupMember.user_id == row.id)
        ).all()
        body = {
            **row.doc,
            "id": row.id,
            "userName": row.user_name,
            "externalId": row.external_id,
            "active": row.active,
            "displayName": row.display_name,
            "meta": _meta("User", row),
        }
        if groups:
            body["groups"] = [
                {"value": gid, "display": name, "type": "direct"} for gid, name in groups
            ]
        return UserResource.model_validate(
            {k: v for k, v in body.items() if v is not None}, scim_ctx=Context.DEFAULT
        )


class GroupStore(_Store):
    table = ScimGroup
    columns = _FILTER_COLUMNS_GROUP

    def _check_unique(self, name: str, own_id: str | None) -> None:
        query = select(ScimGroup.id).where(
            ScimGroup.tenant_id == self.tenant_id, ScimGroup.display_name_ci == name.casefold()
        )
        found = self.session.scalar(query)
        if found is not None and found != own_id:
            raise ScimError(409, f"a group named '{name}' already exists", "uniqueness")

    def _fill(self, row: ScimGroup, group: Any) -> None:
        row.display_name = group.display_name
        row.display_name_ci = group.display_name.casefold()
        row.external_id = group.external_id
        row.doc = _doc(group, ("displayName", "externalId"))

    def _member_ids(self, group: Any) -> list[str]:
        return list(dict.fromkeys(m.value for m in group.members or [] if m.value))

    def check_users(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        if not wanted:
            return
        found = set(
            self.session.scalars(
                select(ScimUser.id).where(
                    ScimUser.tenant_id == self.tenant_id, ScimUser.id.in_(wanted)
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise ScimError(400, f"not users of this tenant: {', '.join(missing)}", "invalidValue")

    def create(self, group: Any) -> Any:
        self._check_unique(group.display_name, None)
        now = _now()
        row = ScimGroup(
            tenant_id=self.tenant_id,
            id=str(uuid.uuid4()),
            version=1,
            created=now,
            last_modified=now,
        )
        self._fill(row, group)
        self.session.add(row)
        self.session.flush()
        self.replace_members(row.id, self._member_ids(group))
        return self.to_resource(row, members=True)

    def get(self, group_id: str, members: bool = True, lock: bool = False) -> Any | None:
        row = self._row(group_id, lock)
        return None if row is None else self.to_resource(row, members)

    def replace(self, group_id: str, group: Any, members: bool = True) -> Any:
        row = self._row(group_id, lock=True)
        if row is None:
            raise ScimError(404, f"Group {group_id} not found")
        self._check_unique(group.display_name, group_id)
        self._fill(row, group)
        if members:
            self.replace_members(group_id, self._member_ids(group))
        self.touch(row)
        self.session.flush()
        return self.to_resource(row, members)

    def bump(self, group_id: str) -> None:
        row = self._row(group_id, lock=True)
        self.touch(row)
        self.session.flush()

    def add_members(self, group_id: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        self.check_users(ids)
        present = set(
            self.session.scalars(
                select(GroupMember.user_id).where(
                    GroupMember.tenant_id == self.tenant_id,
                    GroupMember.group_id == group_id,
                    GroupMember.user_id.in_(ids),
                )
            )
        )
        new = [i for i in ids if i not in present]
        if new:
            self.session.execute(
                insert(GroupMember),
                [{"tenant_id": self.tenant_id, "group_id": group_id, "user_id": i} for i in new],
            )

    def remove_members(self, group_id: str, ids: Iterable[str] | None) -> None:
        query = delete(GroupMember).where(
            GroupMember.tenant_id == self.tenant_id, GroupMember.group_id == group_id
        )
        if ids is not None:
            query = query.where(GroupMember.user_id.in_(list(ids)))
        self.session.execute(query)

    def replace_members(self, group_id: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        self.check_users(ids)
        self.remove_members(group_id, None)
        if ids:
            self.session.execute(
                insert(GroupMember),
                [{"tenant_id": self.tenant_id, "group_id": group_id, "user_id": i} for i in ids],
            )

    def query(self, search: SearchRequest, count: int, members: bool = True) -> Page:
        rows, total = self._page(search, count)
        return Page([self.to_resource(row, members) for row in rows], total)

    def to_resource(self, row: ScimGroup, members: bool = True) -> Any:
        body = {
            **row.doc,
            "id": row.id,
            "displayName": row.display_name,
            "externalId": row.external_id,
            "meta": _meta("Group", row),
        }
        if members:
            found = self.session.execute(
                select(ScimUser.id, ScimUser.user_name)
                .join(
                    GroupMember,
                    (GroupMember.tenant_id == ScimUser.tenant_id)
                    & (GroupMember.user_id == ScimUser.id),
                )
                .where(GroupMember.tenant_id == self.tenant_id, GroupMember.group_id == row.id)
                .order_by(ScimUser.user_name_ci)
            ).all()
            if found:
                body["members"] = [
                    {"value": uid, "display": name, "type": "User"} for uid, name in found
                ]
        return GroupResource.model_validate(
            {k: v for k, v in body.items() if v is not None}, scim_ctx=Context.DEFAULT
        )
