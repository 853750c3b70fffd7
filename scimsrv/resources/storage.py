"""The storage calls the resource endpoints make, over :mod:`scimsrv.store`.

The store speaks SCIM JSON and rows; the endpoints speak scim2-models
resources. This adapter is the one place that converts between them, so the
endpoints read as protocol and the store stays free of HTTP concerns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, SCIMException, SearchRequest
from sqlalchemy.orm import Session

from scimsrv import store
from scimsrv.resources.models import GroupResource, UserResource
from scimsrv.resources.parsing import scim_error


@dataclass
class Page:
    resources: list[Any]
    total: int
    next_cursor: str | None = None


def _payload(resource: Any) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=Context.DEFAULT)


def _model(model: Any, body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body, scim_ctx=Context.DEFAULT)
    except (ValidationError, SCIMException) as exc:
        raise scim_error(exc) from exc


def _list_request(search: SearchRequest, count: int) -> store.ListRequest:
    return store.ListRequest(
        filter=None if search.filter is None else str(search.filter),
        sort_by=None if search.sort_by is None else str(search.sort_by),
        sort_order=None if search.sort_order is None else search.sort_order.value,
        start_index=search.start_index,
        count=count,
        cursor=search.cursor,
    )


class UserStore:
    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _resource(self, row: Any) -> Any:
        groups = store.user_groups(self.session, self.tenant_id, [row.id])[row.id]
        return _model(UserResource, store.user_to_resource(row, groups=groups))

    def create(self, user: Any) -> Any:
        return self._resource(store.create_user(self.session, self.tenant_id, _payload(user)))

    def get(self, user_id: str, lock: bool = False) -> Any | None:
        row = store.find_user(self.session, self.tenant_id, user_id)
        return None if row is None else self._resource(row)

    def replace(self, user_id: str, user: Any) -> Any:
        row = store.replace_user(self.session, self.tenant_id, user_id, _payload(user))
        return self._resource(row)

    def delete(self, user_id: str) -> None:
        store.delete_user(self.session, self.tenant_id, user_id)

    def query(self, search: SearchRequest, count: int) -> Page:
        page = store.list_users(self.session, self.tenant_id, _list_request(search, count))
        groups = store.user_groups(self.session, self.tenant_id, [row.id for row in page.rows])
        resources = [
            _model(UserResource, store.user_to_resource(row, groups=groups[row.id]))
            for row in page.rows
        ]
        return Page(resources, page.total_results, page.next_cursor)


class GroupStore:
    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _resource(self, row: Any, members: bool) -> Any:
        listed = (
            store.members_of(self.session, self.tenant_id, [row.id])[row.id] if members else None
        )
        return _model(GroupResource, store.group_to_resource(row, members=listed))

    def create(self, group: Any) -> Any:
        change = store.create_group(self.session, self.tenant_id, _payload(group))
        return self._resource(change.group, members=True)

    def get(self, group_id: str, members: bool = True, lock: bool = False) -> Any | None:
        row = store.find_group(self.session, self.tenant_id, group_id)
        return None if row is None else self._resource(row, members)

    def replace(self, group_id: str, group: Any, members: bool = True) -> Any:
        change = store.replace_group(
            self.session, self.tenant_id, group_id, _payload(group), keep_members=not members
        )
        return self._resource(change.group, members)

    def delete(self, group_id: str) -> None:
        store.delete_group(self.session, self.tenant_id, group_id)

    def bump(self, group_id: str) -> None:
        """Nothing to do: the member functions bump the version when they change a row."""

    def add_members(self, group_id: str, ids: Iterable[str]) -> None:
        store.add_members(self.session, self.tenant_id, group_id, ids)

    def remove_members(self, group_id: str, ids: Iterable[str] | None) -> None:
        if ids is None:
            store.replace_members(self.session, self.tenant_id, group_id, [])
        else:
            store.remove_members(self.session, self.tenant_id, group_id, ids)

    def replace_members(self, group_id: str, ids: Iterable[str]) -> None:
        store.replace_members(self.session, self.tenant_id, group_id, ids)

    def query(self, search: SearchRequest, count: int, members: bool = True) -> Page:
        page = store.list_groups(self.session, self.tenant_id, _list_request(search, count))
        listed = (
            store.members_of(self.session, self.tenant_id, [row.id for row in page.rows])
            if members
            else {}
        )
        resources = [
            _model(GroupResource, store.group_to_resource(row, members=listed.get(row.id)))
            for row in page.rows
        ]
        return Page(resources, page.total_results, page.next_cursor)
