"""SCIM Groups (RFC 7643 §4.2) in SQL, members as rows.

Adding or removing members is one ``INSERT ... SELECT ... ON CONFLICT DO
NOTHING RETURNING`` / ``DELETE ... RETURNING``: the cost depends on how many
members change, never on the group's size, and the member list is never
loaded. Every function takes the caller's session (inside its transaction)
and a tenant id, and never commits. Member functions return the ids of the
users whose memberships changed, which the plan recompute needs.

displayName is not unique: Entra ID lets two groups share a name (RFC 7643
advertises its uniqueness as ``none``); rules that name a group by
displayName match every group of that name.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from scimsrv.scim.documents import GroupColumns
from scimsrv.scim.errors import ScimError
from scimsrv.scim.values import is_resource_id
from scimsrv.storage.rows import chunks, dialect_insert, labelled
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

COLUMNS = (
    "id",
    "display_name",
    "display_name_ci",
    "external_id",
    "doc",
    "version",
    "created",
    "last_modified",
)
_RECORD = select(*labelled(ScimGroup, COLUMNS)).where(
    ScimGroup.tenant_id == bindparam("tenant_id"), ScimGroup.id == bindparam("group_id")
)
GroupRecord = Any  # a row with COLUMNS


class Record:
    """A group record built in memory after a write (the same attributes as a row)."""

    __slots__ = COLUMNS

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])

    @classmethod
    def of(cls, record: GroupRecord, **changes: Any) -> Record:
        return cls(**{name: getattr(record, name) for name in cls.__slots__} | changes)


def create_group(
    session: Session, tenant_id: str, columns: GroupColumns, doc: dict, at: datetime
) -> Record:
    """A new group, without members (add them with :func:`add_members`)."""
    values = {
        "id": str(uuid.uuid4()),
        "display_name": columns.display_name,
        "display_name_ci": columns.display_name_ci,
        "external_id": columns.external_id,
        "doc": doc,
        "version": 1,
        "created": at,
        "last_modified": at,
    }
    session.execute(insert(ScimGroup).values(tenant_id=tenant_id, **values))
    return Record(**values)


def read_group(session: Session, tenant_id: str, group_id: str, *, lock: str | None = None):
    """The group, or None. ``lock``: ``"update"`` row-locks it for a write
    (``FOR NO KEY UPDATE``: membership inserts' foreign-key checks pass),
    ``"delete"`` for its deletion (``FOR UPDATE``)."""
    if not is_resource_id(group_id):
        return None  # not an id this service hands out: no such group, no query
    statement = _RECORD
    if lock is not None:
        statement = statement.with_for_update(key_share=lock != "delete")
    return session.execute(statement, {"tenant_id": tenant_id, "group_id": group_id}).first()


def lock_groups(session: Session, tenant_id: str, group_ids: Sequence[str]) -> None:
    """Row-lock these groups in id order (a user's delete, before the user)."""
    for chunk in chunks(sorted(group_ids)):
        session.execute(
            select(ScimGroup.id)
            .where(ScimGroup.tenant_id == tenant_id, ScimGroup.id.in_(chunk))
            .order_by(ScimGroup.id)
            .with_for_update(key_share=True)
        ).all()


def replace_group(
    session: Session,
    tenant_id: str,
    record: GroupRecord,
    columns: GroupColumns,
    doc: dict,
    at: datetime,
) -> Record:
    """Replace a locked group's attributes (not its members); bumps ``version``."""
    values = {
        "display_name": columns.display_name,
        "display_name_ci": columns.display_name_ci,
        "external_id": columns.external_id,
        "doc": doc,
    }
    session.execute(
        update(ScimGroup)
        .where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == record.id)
        .values(**values, version=ScimGroup.version + 1, last_modified=at)
    )
    return Record.of(record, **values, version=record.version + 1, last_modified=at)


def bump(session: Session, tenant_id: str, group_ids: Sequence[str], at: datetime) -> None:
    """New versions for groups whose members changed."""
    for chunk in chunks(sorted(group_ids)):
        session.execute(
            update(ScimGroup)
            .where(ScimGroup.tenant_id == tenant_id, ScimGroup.id.in_(chunk))
            .values(version=ScimGroup.version + 1, last_modified=at)
        )


def delete_group(session: Session, tenant_id: str, record: GroupRecord) -> list[str]:
    """Delete a locked group and its memberships (RFC 7644 §3.6).

    :returns: the ids of the users who were members, sorted.
    """
    removed = (
        session.execute(
            delete(GroupMember)
            .where(GroupMember.tenant_id == tenant_id, GroupMember.group_id == record.id)
            .returning(GroupMember.user_id)
        )
        .scalars()
        .all()
    )
    session.execute(
        delete(ScimGroup).where(ScimGroup.tenant_id == tenant_id, ScimGroup.id == record.id)
    )
    return sorted(removed)


def add_members(
    session: Session, tenant_id: str, group_id: str, members: Mapping[str, str | None]
) -> list[str]:
    """Add users (id -> the ``display`` the client sent, or None) to a group;
    present ones are ignored.

    :returns: the ids of users who were not members before, sorted.
    :raises ScimError: 400 ``invalidValue`` when an id is not a user of this
        tenant (the caller's transaction must roll back: others may be in).
    """
    if not members:
        return []
    insert_for = dialect_insert(session)
    by_display: dict[str | None, list[str]] = {}
    for user_id, display in members.items():
        if is_resource_id(user_id):  # any other value names no user: refused below
            by_display.setdefault(display, []).append(user_id)
    added: list[str] = []
    for display, user_ids in by_display.items():
        for chunk in chunks(user_ids):
            users = select(
                literal(tenant_id), literal(group_id), ScimUser.id, literal(display)
            ).where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk))
            added += (
                session.execute(
                    insert_for(GroupMember)
                    .from_select(["tenant_id", "group_id", "user_id", "display"], users)
                    .on_conflict_do_nothing()
                    .returning(GroupMember.user_id)
                )
                .scalars()
                .all()
            )
    if len(added) < len(members):
        _require_users(session, tenant_id, [u for u in members if u not in set(added)])
    return sorted(added)


def _require_users(session: Session, tenant_id: str, user_ids: Sequence[str]) -> None:
    """Every id is a user of this tenant, else 400 invalidValue (RFC 7644 §3.12)."""
    found: set[str] = set()
    for chunk in chunks([u for u in user_ids if is_resource_id(u)]):
        found.update(
            session.execute(
                select(ScimUser.id).where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk))
            ).scalars()
        )
    missing = [user_id for user_id in user_ids if user_id not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ScimError(
            400, f"members must be users of this tenant; unknown: {shown}", "invalidValue"
        )


def remove_members(
    session: Session, tenant_id: str, group_id: str, user_ids: Sequence[str] | None
) -> list[str]:
    """Remove these users (None: every member) from a group; others are ignored.

    :returns: the ids of users who were members, sorted.
    """
    condition = [GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id]
    if user_ids is None:
        return sorted(
            session.execute(delete(GroupMember).where(*condition).returning(GroupMember.user_id))
            .scalars()
            .all()
        )
    removed: list[str] = []
    for chunk in chunks([u for u in dict.fromkeys(user_ids) if is_resource_id(u)]):
        removed += (
            session.execute(
                delete(GroupMember)
                .where(*condition, GroupMember.user_id.in_(chunk))
                .returning(GroupMember.user_id)
            )
            .scalars()
            .all()
        )
    return sorted(removed)


def replace_members(
    session: Session, tenant_id: str, group_id: str, members: Mapping[str, str | None]
) -> tuple[list[str], list[str]]:
    """Make the members exactly ``members`` (PATCH replace ``members``, PUT).
    Reads the member ids (one column) to write only the difference.

    :returns: the ids of the users added, and of those removed, each sorted.
    :raises ScimError: 400 ``invalidValue`` as :func:`add_members`.
    """
    current = set(
        session.execute(
            select(GroupMember.user_id).where(
                GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id
            )
        ).scalars()
    )
    gone = sorted(current - set(members))
    removed = remove_members(session, tenant_id, group_id, gone) if gone else []
    new = {u: display for u, display in members.items() if u not in current}
    added = add_members(session, tenant_id, group_id, new)
    return sorted(added), sorted(removed)


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


def memberships(
    session: Session, tenant_id: str, user_ids: Sequence[str]
) -> dict[str, list[tuple[str, str | None]]]:
    """Each user's groups as (displayName, externalId): what plan rules look at."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for chunk in chunks(list(user_ids)):
        rows = session.execute(
            select(GroupMember.user_id, ScimGroup.display_name, ScimGroup.external_id)
            .join(
                ScimGroup,
                (ScimGroup.tenant_id == GroupMember.tenant_id)
                & (ScimGroup.id == GroupMember.group_id),
            )
            .where(GroupMember.tenant_id == tenant_id, GroupMember.user_id.in_(chunk))
        )
        for user_id, name, external_id in rows:
            found.setdefault(user_id, []).append((name, external_id))
    return found


def member_counts(session: Session, tenant_id: str, group_ids: Sequence[str]) -> dict[str, int]:
    """How many members each group has (0 for none), one query per chunk of ids."""
    counts = dict.fromkeys(group_ids, 0)
    for chunk in chunks(list(group_ids)):
        rows = session.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.tenant_id == tenant_id, GroupMember.group_id.in_(chunk))
            .group_by(GroupMember.group_id)
        )
        counts.update({group_id: count for group_id, count in rows})
    return counts


def member_ids(session: Session, tenant_id: str, group_id: str) -> list[str]:
    """A group's member ids (a rename or delete recomputes them)."""
    return list(
        session.execute(
            select(GroupMember.user_id).where(
                GroupMember.tenant_id == tenant_id, GroupMember.group_id == group_id
            )
        ).scalars()
    )
