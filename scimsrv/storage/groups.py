"""SCIM Groups (RFC 7643 §4.2) in the database, members as rows.

Adding or removing members is one existence check on the named users plus
one ``INSERT ... ON CONFLICT DO NOTHING`` / ``DELETE ... RETURNING``: the cost
depends on how many members change, never on the group's size, and the
member list is never loaded. Every function runs inside the caller's
transaction and never commits. Member functions return the ids of the users
whose memberships changed, which the plan recompute needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim2_models import Group
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scimsrv.scim.errors import ScimError
from scimsrv.storage.filters import GROUPS
from scimsrv.storage.listing import ListRequest, Page, run_list
from scimsrv.storage.rows import (
    canonical,
    check_version,
    find_row,
    get_row,
    meta,
    not_found,
    utcnow,
)
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
RESOURCE_TYPE = "Group"
ENDPOINT = "Groups"

# Keeps each statement well under SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500

_NOT_IN_DOC = frozenset({"schemas", "id", "meta", "displayName", "externalId", "members"})


@dataclass(frozen=True)
class GroupChange:
    """A written group and the users whose memberships changed with it."""

    group: ScimGroup
    changed_user_ids: list[str] = field(default_factory=list)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _group_columns(
    attributes: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str | None]]:
    body = dict(attributes)
    # Entra adds its own schema URN to the Group's schemas; it defines nothing we store.
    body["schemas"] = [GROUP_SCHEMA]
    members = body.pop("members", None) or []
    member_ids = member_ids_of(members)
    data = canonical(Group, body)
    display_name = data.get("displayName")
    if not isinstance(display_name, str) or not display_name.strip():
        raise ScimError(400, "displayName is required (RFC 7643 §4.2)", "invalidValue")
    columns = {
        "display_name": display_name,
        "display_name_ci": display_name.casefold(),
        "external_id": data.get("externalId"),
    }
    doc = {key: value for key, value in data.items() if key not in _NOT_IN_DOC}
    return columns, doc, member_ids


def member_ids_of(members: Any) -> dict[str, str | None]:
    """The members of a ``members`` value (``[{"value": id, "display": ...}]``):
    user id -> the display sent (None when absent), in order.

    :raises ScimError: 400 ``invalidValue`` for anything else, and for
        members of type Group (nested groups are not supported).
    """
    if not isinstance(members, list):
        raise ScimError(400, 'members must be a list of {"value": id}', "invalidValue")
    ids: dict[str, str | None] = {}
    for member in members:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str) or not value:
            raise ScimError(400, 'each member needs a "value" with a user id', "invalidValue")
        if str(member.get("type", "User")).lower() == "group":
            raise ScimError(
                400, "nested groups are not supported: members must be users", "invalidValue"
            )
        display = member.get("display")
        ids.setdefault(value, display if isinstance(display, str) else None)
    return ids


def _displays(members: Iterable[str] | Mapping[str, str | None]) -> dict[str, str | None]:
    """Members as user id -> display: from a mapping, or from plain ids (no display)."""
    if isinstance(members, Mapping):
        return dict(members)
    return dict.fromkeys(members)


def _conflict(display_name: str) -> ScimError:
    return ScimError(409, f"a group named {display_name!r} already exists", "uniqueness")


def _check_name_free(
    session: Session, tenant_id: str, columns: dict[str, Any], except_id: str | None
) -> None:
    query = select(ScimGroup.id).where(
        ScimGroup.tenant_id == tenant_id, ScimGroup.display_name_ci == columns["display_name_ci"]
    )
    if except_id is not None:
        query = query.where(ScimGroup.id != except_id)
    if session.scalar(query) is not None:
        raise _conflict(columns["display_name"])


def _flush(session: Session, display_name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise _conflict(display_name) from exc


def create_group(
    session: Session, tenant_id: str, attributes: Mapping[str, Any], *, now: datetime | None = None
) -> GroupChange:
    """Create a group, with the members the body names (RFC 7644 §3.3).

    :raises ScimError: 409 ``uniqueness`` when the displayName (compared
        case-insensitively) is taken; 400 ``invalidValue`` for a bad body or a
        member that is not a user of this tenant.
    """
    now = now or utcnow()
    columns, doc, member_ids = _group_columns(attributes)
    _check_name_free(session, tenant_id, columns, None)
    group = ScimGroup(
        tenant_id=tenant_id,
        id=str(uuid.uuid4()),
        doc=doc,
        version=1,
        created=now,
        last_modified=now,
        **columns,
    )
    session.add(group)
    _flush(session, columns["display_name"])
    changed = _insert_members(session, tenant_id, group.id, member_ids)
    return GroupChange(group, changed)


def find_group(
    session: Session, tenant_id: str, group_id: str, *, for_update: bool = False
) -> ScimGroup | None:
    """The group row, or None (see :func:`scimsrv.storage.rows.find_row`)."""
    return find_row(session, ScimGroup, tenant_id, group_id, for_update=for_update)


def get_group(session: Session, tenant_id: str, group_id: str) -> ScimGroup:
    """The group row; 404 ScimError when the tenant has no such group."""
    return get_row(session, ScimGroup, RESOURCE_TYPE, tenant_id, group_id)


def replace_group(
    session: Session,
    tenant_id: str,
    group_id: str,
    attributes: Mapping[str, Any],
    *,
    keep_members: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> GroupChange:
    """Replace a group's attributes (PUT, RFC 7644 §3.5.1).

    The members become exactly ``attributes["members"]`` (none when absent),
    unless ``keep_members``: then members are left alone, which is what a
    PATCH of displayName/externalId wants (member operations go through
    :func:`add_members`/:func:`remove_members`).

    :raises ScimError: 404, 409 ``uniqueness``, 400 ``invalidValue``, 412.
    """
    now = now or utcnow()
    group = get_group(session, tenant_id, group_id)
    check_version(RESOURCE_TYPE, group, expected_version)
    columns, doc, member_ids = _group_columns(attributes)
    if columns["display_name_ci"] != group.display_name_ci:
        _check_name_free(session, tenant_id, columns, group.id)
    changed: list[str] = []
    if not keep_members:
        changed = replace_members(session, tenant_id, group_id, member_ids, now=now)
    if doc != group.doc or any(getattr(group, k) != v for k, v in columns.items()):
        for key, value in columns.items():
            setattr(group, key, value)
        group.doc = doc
        if not changed:  # replace_members already bumped the version
            group.version += 1
        group.last_modified = now
        _flush(session, columns["display_name"])
    return GroupChange(group, changed)


def delete_group(session: Session, tenant_id: str, group_id: str) -> list[str]:
    """Delete a group and its memberships (RFC 7644 §3.6).

    :returns: the ids of the users who were members.
    :raises ScimError: 404 when missing.
    """
    group = get_group(session, tenant_id, group_id)
    removed = session.scalars(
        delete(GroupMember)
        .where(GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id)
        .returning(GroupMember.user_id)
    ).all()
    session.delete(group)
    session.flush()
    return sorted(removed)


def _require_group(session: Session, tenant_id: str, group_id: str) -> None:
    found = session.scalar(
        select(ScimGroup.id).where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == group_id)
    )
    if found is None:
        raise not_found(RESOURCE_TYPE, group_id)


def _require_users(session: Session, tenant_id: str, user_ids: Sequence[str]) -> None:
    """Every id is a user of this tenant, else 400 invalidValue (RFC 7644 §3.12)."""
    found: set[str] = set()
    for chunk in _chunks(user_ids):
        found.update(
            session.scalars(
                select(ScimUser.id).where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk))
            )
        )
    missing = [user_id for user_id in user_ids if user_id not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ScimError(
            400, f"members must be users of this tenant; unknown: {shown}", "invalidValue"
        )


def _bump(session: Session, tenant_id: str, group_id: str, now: datetime) -> None:
    session.execute(
        update(ScimGroup)
        .where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == group_id)
        .values(version=ScimGroup.version + 1, last_modified=now)
    )


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def _insert_members(
    session: Session, tenant_id: str, group_id: str, members: Mapping[str, str | None]
) -> list[str]:
    user_ids = list(members)
    if not user_ids:
        return []
    _require_users(session, tenant_id, user_ids)
    insert = _insert(session)
    added: list[str] = []
    for chunk in _chunks(user_ids):
        rows = [
            {"tenant_id": tenant_id, "group_id": group_id, "user_id": u, "display": members[u]}
            for u in chunk
        ]
        statement = (
            insert(GroupMember).values(rows).on_conflict_do_nothing().returning(GroupMember.user_id)
        )
        try:
            added.extend(session.scalars(statement).all())
        except IntegrityError as exc:
            # A user deleted by a concurrent request after _require_users saw it.
            raise ScimError(
                400, "members must be users of this tenant (one was just deleted)", "invalidValue"
            ) from exc
    return sorted(added)


def add_members(
    session: Session,
    tenant_id: str,
    group_id: str,
    user_ids: Iterable[str] | Mapping[str, str | None],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Add users to a group (PATCH add ``members``); present ones are ignored.
    ``user_ids`` may map each id to the member ``display`` the client sent.

    :returns: the ids of users who were not members before (sorted).
    :raises ScimError: 404 for an unknown group; 400 ``invalidValue`` when an
        id is not a user of this tenant (nothing is added then).
    """
    members = _displays(user_ids)
    _require_group(session, tenant_id, group_id)
    added = _insert_members(session, tenant_id, group_id, members)
    if added:
        _bump(session, tenant_id, group_id, now or utcnow())
    return added


def remove_members(
    session: Session,
    tenant_id: str,
    group_id: str,
    user_ids: Iterable[str],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Remove users from a group (PATCH remove ``members[value eq "id"]``);
    ids that are not members are ignored.

    :returns: the ids of users who were members (sorted).
    :raises ScimError: 404 for an unknown group.
    """
    ids = _unique(user_ids)
    _require_group(session, tenant_id, group_id)
    removed: list[str] = []
    for chunk in _chunks(ids):
        removed.extend(
            session.scalars(
                delete(GroupMember)
                .where(
                    GroupMember.tenant_id == tenant_id,
                    GroupMember.group_id == group_id,
                    GroupMember.user_id.in_(chunk),
                )
                .returning(GroupMember.user_id)
            ).all()
        )
    if removed:
        _bump(session, tenant_id, group_id, now or utcnow())
    return sorted(removed)


def replace_members(
    session: Session,
    tenant_id: str,
    group_id: str,
    user_ids: Iterable[str] | Mapping[str, str | None],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Make the members exactly ``user_ids`` (PATCH replace ``members``, PUT).

    A full replacement has to compare with the current members, so this one
    reads the member ids (one column); it writes only the difference.

    :returns: the ids of users added or removed (sorted).
    :raises ScimError: 404; 400 ``invalidValue`` as :func:`add_members`.
    """
    wanted = _displays(user_ids)
    _require_group(session, tenant_id, group_id)
    _require_users(session, tenant_id, list(wanted))
    current = set(
        session.scalars(
            select(GroupMember.user_id).where(
                GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id
            )
        )
    )
    gone = sorted(current - set(wanted))
    for chunk in _chunks(gone):
        session.execute(
            delete(GroupMember).where(
                GroupMember.tenant_id == tenant_id,
                GroupMember.group_id == group_id,
                GroupMember.user_id.in_(chunk),
            )
        )
    new = {u: display for u, display in wanted.items() if u not in current}
    added = _insert_members(session, tenant_id, group_id, new)
    changed = sorted(set(gone) | set(added))
    if changed:
        _bump(session, tenant_id, group_id, now or utcnow())
    return changed


def is_member(session: Session, tenant_id: str, group_id: str, user_id: str) -> bool:
    """One primary-key lookup."""
    return (
        session.scalar(
            select(GroupMember.user_id).where(
                GroupMember.tenant_id == tenant_id,
                GroupMember.group_id == group_id,
                GroupMember.user_id == user_id,
            )
        )
        is not None
    )


def members_of(
    session: Session, tenant_id: str, group_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The ``members`` attribute of each group, in one query for a page:
    ``{group_id: [{"value", "display", "type": "User"}]}``, ordered by user id;
    ``display`` is what the client sent, else the user's displayName or userName."""
    result: dict[str, list[dict[str, Any]]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return result
    rows = session.execute(
        select(
            GroupMember.group_id,
            ScimUser.id,
            GroupMember.display,
            ScimUser.display_name,
            ScimUser.user_name,
        )
        .join(
            ScimUser,
            (ScimUser.tenant_id == GroupMember.tenant_id) & (ScimUser.id == GroupMember.user_id),
        )
        .where(GroupMember.tenant_id == tenant_id, GroupMember.group_id.in_(list(group_ids)))
        .order_by(GroupMember.group_id, GroupMember.user_id)
    )
    for group_id, user_id, display, display_name, user_name in rows:
        result[group_id].append(
            {"value": user_id, "display": display or display_name or user_name, "type": "User"}
        )
    return result


def list_members(session: Session, tenant_id: str, group_id: str) -> list[dict[str, Any]]:
    """A group's ``members`` attribute; 404 ScimError for an unknown group."""
    _require_group(session, tenant_id, group_id)
    return members_of(session, tenant_id, [group_id])[group_id]


def list_groups(
    session: Session, tenant_id: str, request: ListRequest, *, max_count: int = 1000
) -> Page[ScimGroup]:
    """GET /Groups with filter, sort and pagination in SQL (RFC 7644 §3.4.2,
    RFC 9865). Rows only: fetch members with :func:`members_of` unless the
    request excludes them."""
    return run_list(session, tenant_id, GROUPS, request, max_count=max_count)


def group_to_resource(
    group: ScimGroup,
    *,
    base_url: str | None = None,
    members: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The SCIM JSON of a group. ``members`` None leaves the attribute out
    (``excludedAttributes=members``: nothing reads group_member then)."""
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id}
    if group.external_id is not None:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.display_name
    resource.update(group.doc)
    if members is not None:
        resource["members"] = members
    resource["meta"] = meta(RESOURCE_TYPE, group, base_url, ENDPOINT)
    return resource
