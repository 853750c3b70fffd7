"""The storage calls the resource endpoints make, over :mod:`scimsrv.storage`.

The store speaks SCIM JSON and rows; the endpoints speak scim2-models
resources. This adapter is the one place that converts between them, and
the one place where a SCIM write meets provisioning: every write tells the
transaction's :class:`~scimsrv.provisioning.recompute.Provisioner` which users it
touched, so their plans and license links change in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, get_args

from pydantic import ValidationError
from scim2_models import Context, SCIMException, SearchRequest
from sqlalchemy.orm import Session
from starlette.requests import Request

from scimsrv import storage as store
from scimsrv.provisioning.recompute import Provisioner
from scimsrv.scim.parsing import scim_error
from scimsrv.scim.schemas import LICENSING_SCHEMA, GroupResource, UserResource
from scimsrv.scim.search import excludes
from scimsrv.storage.licensing_view import licensing_views
from scimsrv.storage.tables import ScimUser


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def write_transaction(request: Request, cause: str) -> Iterator[Session]:
    """One write transaction, stamped with the app's clock and the request as cause."""
    with request.app.state.db.write() as session:
        session.info["clock"] = getattr(request.app.state, "clock", utcnow)
        session.info["cause"] = cause
        yield session


def provisioner(session: Session, tenant_id: str) -> Provisioner:
    """The transaction's provisioner, made on first use."""
    found = session.info.get("provisioner")
    if found is None:
        clock: Callable[[], datetime] = session.info.get("clock", utcnow)
        found = Provisioner(session, tenant_id, at=clock(), cause=session.info.get("cause", ""))
        session.info["provisioner"] = found
    return found


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


@cache
def _fields(model: type) -> dict[str, tuple[int, type | None]]:
    """Each serialized attribute name of ``model``: its position in a dump, and
    the model its value (or each item of it) is, if any."""
    fields: dict[str, tuple[int, type | None]] = {}
    for position, (name, info) in enumerate(model.model_fields.items()):
        kinds = [info.annotation, *get_args(info.annotation)]
        kinds += [arg for kind in kinds for arg in get_args(kind)]
        nested = next(
            (k for k in kinds if isinstance(k, type) and hasattr(k, "model_fields")), None
        )
        fields[info.serialization_alias or info.alias or name] = (position, nested)
    return fields


def _in_model_order(model: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its keys, at every level, in the order ``model`` dumps them."""
    fields = _fields(model)
    last = (len(fields), None)
    ordered = {}
    for key, value in sorted(data.items(), key=lambda item: fields.get(item[0], last)[0]):
        nested = fields.get(key, last)[1]
        if nested is not None:
            if isinstance(value, dict):
                value = _in_model_order(nested, value)
            elif isinstance(value, list):
                value = [_in_model_order(nested, v) if isinstance(v, dict) else v for v in value]
        ordered[key] = value
    return ordered


class StoredMeta:
    """What the endpoints read and set on a resource's ``meta``."""

    __slots__ = ("location", "version")

    def __init__(self, version: str | None) -> None:
        self.version = version
        self.location: str | None = None


class _Stored:
    """A resource as read back from its rows, with what endpoints read and set
    (``id``, ``meta.version``, ``meta.location``); validated into the
    scim2-models resource only when something needs it."""

    MODEL: Any = None
    __slots__ = ("body", "id", "meta")

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.id = body["id"]
        self.meta = StoredMeta(body["meta"].get("version"))

    def model(self) -> Any:
        resource = _model(self.MODEL, self.body)
        if resource.meta is not None and self.meta.location is not None:
            resource.meta.location = self.meta.location
        return resource

    def model_dump(self, *, scim_ctx: Context, response_parameters: Any = None) -> dict[str, Any]:
        return self.model().model_dump(scim_ctx=scim_ctx, response_parameters=response_parameters)


class StoredUser(_Stored):
    """A user as read back from its rows, for a response.

    Its JSON was validated by scim2-models when it was written (and the
    licensing extension and ``groups`` are built here), so the response
    without attribute selection is that JSON, keys in the model's order:
    exactly what a round trip through :data:`UserResource` dumps, at a
    fraction of the cost (``tests/test_fast_rendering.py`` holds it to that).
    A response that selects attributes (RFC 7644 §3.9) goes through the
    model, which owns those rules.
    """

    MODEL = UserResource
    __slots__ = ()

    def model_dump(self, *, scim_ctx: Context, response_parameters: Any = None) -> dict[str, Any]:
        if response_parameters is not None and (
            response_parameters.attributes or response_parameters.excluded_attributes
        ):
            return super().model_dump(scim_ctx=scim_ctx, response_parameters=response_parameters)
        body = dict(self.body)
        body["meta"] = {**body["meta"], "location": self.meta.location}
        if self.meta.location is None:
            del body["meta"]["location"]
        return _in_model_order(UserResource, body)


class StoredGroup(_Stored):
    """A group as read back from its row, validated into a scim2-models
    resource only if something needs more than its id and version (a member
    PATCH answered with 204 needs neither the model nor the members)."""

    MODEL = GroupResource
    __slots__ = ()


def _list_request(search: SearchRequest, count: int) -> store.ListRequest:
    return store.ListRequest(
        filter=None if search.filter is None else str(search.filter),
        sort_by=None if search.sort_by is None else str(search.sort_by),
        sort_order=None if search.sort_order is None else search.sort_order.value,
        start_index=search.start_index,
        count=count,
        cursor=search.cursor,
    )


class _Writer:
    """What user and group writes share: the clock and provisioning."""

    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    @property
    def provisioner(self) -> Provisioner:
        return provisioner(self.session, self.tenant_id)

    @property
    def now(self) -> datetime:
        return self.provisioner.at

    def _changed(self, user_ids: Iterable[str]) -> None:
        self.provisioner.users_changed(user_ids)
        self.provisioner.finish()


class UserStore(_Writer):
    def _stored(self, rows: list[ScimUser], groups_read: bool = True) -> list[StoredUser]:
        """``groups_read`` False: the response leaves ``groups`` out, or the
        users were created in this transaction and are in no group yet."""
        ids = [row.id for row in rows]
        groups = (
            store.user_groups(self.session, self.tenant_id, ids)
            if groups_read
            else {user_id: [] for user_id in ids}
        )
        views = licensing_views(self.session, self.tenant_id, [row.associate_id for row in rows])
        resources = []
        for row in rows:
            body = store.user_to_resource(row, groups=groups[row.id])
            body["schemas"].append(LICENSING_SCHEMA)
            body[LICENSING_SCHEMA] = views[row.associate_id]
            resources.append(StoredUser(body))
        return resources

    def create(self, user: Any) -> StoredUser:
        row = store.create_user(self.session, self.tenant_id, _payload(user), now=self.now)
        self._changed([row.id])
        return self._stored([row], groups_read=False)[0]

    def get(self, user_id: str, lock: bool = False) -> Any | None:
        """The user as a scim2-models resource, to compare, patch or replace."""
        row = store.find_user(self.session, self.tenant_id, user_id, for_update=lock)
        return None if row is None else self._stored([row])[0].model()

    def read(self, user_id: str) -> StoredUser | None:
        """The user for a response only."""
        row = store.find_user(self.session, self.tenant_id, user_id)
        return None if row is None else self._stored([row])[0]

    def replace(self, user_id: str, user: Any) -> StoredUser:
        row = store.replace_user(
            self.session, self.tenant_id, user_id, _payload(user), now=self.now
        )
        self._changed([user_id])
        return self._stored([row])[0]

    def delete(self, user_id: str) -> None:
        prov = self.provisioner
        store.delete_user(
            self.session,
            self.tenant_id,
            user_id,
            release_licenses=lambda _session, associate_id: prov.user_deleted(associate_id),
        )
        prov.finish()

    def query(self, search: SearchRequest, count: int) -> Page:
        page = store.list_users(self.session, self.tenant_id, _list_request(search, count))
        users = self._stored(list(page.rows), groups_read=not excludes(search, "groups"))
        return Page(users, page.total_results, page.next_cursor)


class GroupStore(_Writer):
    def _resource(self, row: Any, members: bool) -> Any:
        listed = (
            store.members_of(self.session, self.tenant_id, [row.id])[row.id] if members else None
        )
        return _model(GroupResource, store.group_to_resource(row, members=listed))

    def create(self, group: Any) -> Any:
        change = store.create_group(self.session, self.tenant_id, _payload(group), now=self.now)
        self._changed(change.changed_user_ids)
        return self._resource(change.group, members=True)

    def get(self, group_id: str, members: bool = True, lock: bool = False) -> Any | None:
        row = store.find_group(self.session, self.tenant_id, group_id, for_update=lock)
        return None if row is None else self._resource(row, members)

    def read(self, group_id: str, lock: bool = False) -> StoredGroup | None:
        """The group without its members, not yet validated into a resource."""
        row = store.find_group(self.session, self.tenant_id, group_id, for_update=lock)
        return None if row is None else StoredGroup(store.group_to_resource(row))

    def replace(self, group_id: str, group: Any, members: bool = True) -> Any:
        row = store.get_group(self.session, self.tenant_id, group_id)
        before = (row.display_name_ci, row.external_id)
        change = store.replace_group(
            self.session,
            self.tenant_id,
            group_id,
            _payload(group),
            keep_members=not members,
            now=self.now,
        )
        if (change.group.display_name_ci, change.group.external_id) != before:
            # Rules and plan-named groups match by name or externalId: every member.
            self.provisioner.group_changed(group_id)
        self._changed(change.changed_user_ids)
        return self._resource(change.group, members)

    def delete(self, group_id: str) -> None:
        self._changed(store.delete_group(self.session, self.tenant_id, group_id))

    def add_members(self, group_id: str, ids: Iterable[str]) -> None:
        self._changed(store.add_members(self.session, self.tenant_id, group_id, ids, now=self.now))

    def remove_members(self, group_id: str, ids: Iterable[str] | None) -> None:
        if ids is None:
            self.replace_members(group_id, [])
        else:
            self._changed(
                store.remove_members(self.session, self.tenant_id, group_id, ids, now=self.now)
            )

    def replace_members(self, group_id: str, ids: Iterable[str]) -> None:
        self._changed(
            store.replace_members(self.session, self.tenant_id, group_id, ids, now=self.now)
        )

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
