"""SCIM Users (RFC 7643 §4.1) in SQL; each one is exactly one CRM associate.

Every function takes the caller's session (inside its transaction) and a
tenant id, never commits, and reads rows past the ORM: a :data:`UserRecord`
is a plain row with the attribute names of :class:`ScimUser` plus the user's
plan-state version (``plan_version``, ``plan_updated``), which the user's
ETag and ``meta.lastModified`` include.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from licensing_core.holdings import ORDER, PLAN_SELECTS, PlanView, plan_views_from
from licensing_core.identities import Identity
from licensing_core.tables import Associate, AssociatePlan
from scimsrv.scim.documents import UserColumns
from scimsrv.scim.errors import ScimError
from scimsrv.scim.values import is_resource_id
from scimsrv.storage.rows import chunks, dialect_insert, labelled
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

COLUMNS = (
    "id",
    "associate_id",
    "user_name",
    "user_name_ci",
    "external_id",
    "active",
    "display_name",
    "doc",
    "version",
    "created",
    "last_modified",
)
PLAN_COLUMNS = (
    func.coalesce(AssociatePlan.version, 0).label("plan_version"),
    AssociatePlan.updated.label("plan_updated"),
)
PLAN_JOIN = (AssociatePlan.tenant_id == ScimUser.tenant_id) & (
    AssociatePlan.associate_id == ScimUser.associate_id
)
# Built once: every read of one user runs it, only the bound values change.
_RECORD = (
    select(*labelled(ScimUser, COLUMNS), *PLAN_COLUMNS)
    .select_from(ScimUser)
    .outerjoin(AssociatePlan, PLAN_JOIN)
    .where(ScimUser.tenant_id == bindparam("tenant_id"), ScimUser.id == bindparam("user_id"))
)
UserRecord = Any  # a row with COLUMNS and plan_version / plan_updated


class Record:
    """A user record built in memory after a write (the same attributes as a row)."""

    __slots__ = (*COLUMNS, "plan_updated", "plan_version")

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])

    @classmethod
    def of(cls, record: UserRecord, **changes: Any) -> Record:
        return cls(**{name: getattr(record, name) for name in cls.__slots__} | changes)


def taken(user_name: str) -> ScimError:
    return ScimError(409, f"userName {user_name!r} is already taken", "uniqueness")


def create_user(
    session: Session, tenant_id: str, columns: UserColumns, doc: dict, at: datetime
) -> Record:
    """A new user and its associate (``name`` = userName casefolded, ``deleted``
    = active is false).

    :raises ScimError: 409 ``uniqueness`` when the userName (compared
        case-insensitively) is taken in the tenant, by a SCIM user or by a
        CRM login made outside SCIM.
    """
    statement = (
        dialect_insert(session)(Associate)
        .values(
            tenant_id=tenant_id,
            name=columns.user_name_ci,
            user_name=columns.user_name,
            deleted=columns.active is False,
            registered=at,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
        .returning(Associate.id)
    )
    associate_id = session.execute(statement).scalar()
    if associate_id is None:
        raise taken(columns.user_name)
    values = {
        "id": str(uuid.uuid4()),
        "associate_id": associate_id,
        "user_name": columns.user_name,
        "user_name_ci": columns.user_name_ci,
        "external_id": columns.external_id,
        "active": columns.active,
        "display_name": columns.display_name,
        "doc": doc,
        "version": 1,
        "created": at,
        "last_modified": at,
    }
    session.execute(insert(ScimUser).values(tenant_id=tenant_id, **values))
    return Record(**values, plan_version=0, plan_updated=None)


def read_user(session: Session, tenant_id: str, user_id: str, *, lock: str | None = None):
    """The user, or None. ``lock`` (``"update"`` for a write, ``"delete"``)
    row-locks it ``FOR UPDATE``: a write may change its userName, a column
    of a unique key, whose update takes that mode anyway; taken at once, a
    concurrent membership insert (its foreign key check takes ``FOR KEY
    SHARE``) waits before it holds the user, instead of holding it while
    waiting for this write's lock, which deadlocked."""
    if not is_resource_id(user_id):
        return None  # not an id this service hands out: no such user, no query
    statement = _RECORD
    if lock is not None:
        statement = statement.with_for_update(of=ScimUser)
    return session.execute(statement, {"tenant_id": tenant_id, "user_id": user_id}).first()


def replace_user(
    session: Session,
    tenant_id: str,
    record: UserRecord,
    columns: UserColumns,
    doc: dict,
    at: datetime,
) -> Record:
    """Replace a locked user's attributes; bumps ``version``; keeps the
    associate's login and retired flag in step.

    :raises ScimError: 409 ``uniqueness`` when the new userName is taken.
    """
    renamed = columns.user_name_ci != record.user_name_ci
    if renamed:
        holder = session.execute(
            select(Associate.id).where(
                Associate.tenant_id == tenant_id,
                Associate.name == columns.user_name_ci,
                Associate.id != record.associate_id,
            )
        ).first()
        if holder is not None:
            raise taken(columns.user_name)
    values = {
        "user_name": columns.user_name,
        "user_name_ci": columns.user_name_ci,
        "external_id": columns.external_id,
        "active": columns.active,
        "display_name": columns.display_name,
        "doc": doc,
    }
    session.execute(
        update(ScimUser)
        .where(ScimUser.tenant_id == tenant_id, ScimUser.id == record.id)
        .values(**values, version=ScimUser.version + 1, last_modified=at)
    )
    if (
        renamed
        or columns.user_name != record.user_name
        or (columns.active is False) != (record.active is False)
    ):
        session.execute(
            update(Associate)
            .where(Associate.tenant_id == tenant_id, Associate.id == record.associate_id)
            .values(
                name=columns.user_name_ci,
                user_name=columns.user_name,
                deleted=columns.active is False,
                updated=at,
                updated_count=Associate.updated_count + 1,
            )
        )
    return Record.of(record, **values, version=record.version + 1, last_modified=at)


def delete_user(session: Session, tenant_id: str, record: UserRecord) -> list[str]:
    """Delete a locked user, its memberships and its associate (RFC 7644 §3.6).
    The associate's license links must be gone already (their foreign key
    refuses the delete otherwise).

    :returns: the ids of the groups the user was in.
    """
    groups = (
        session.execute(
            delete(GroupMember)
            .where(GroupMember.tenant_id == tenant_id, GroupMember.user_id == record.id)
            .returning(GroupMember.group_id)
        )
        .scalars()
        .all()
    )
    session.execute(
        delete(ScimUser).where(ScimUser.tenant_id == tenant_id, ScimUser.id == record.id)
    )
    session.execute(
        delete(Associate).where(
            Associate.tenant_id == tenant_id, Associate.id == record.associate_id
        )
    )
    return sorted(groups)


def group_ids_of(session: Session, tenant_id: str, user_id: str) -> list[str]:
    """The ids of the groups a user is in, sorted (to lock them in order)."""
    if not is_resource_id(user_id):
        return []
    return list(
        session.execute(
            select(GroupMember.group_id)
            .where(GroupMember.tenant_id == tenant_id, GroupMember.user_id == user_id)
            .order_by(GroupMember.group_id)
        ).scalars()
    )


# What a plan recompute needs of each user whose memberships changed.
_TOUCHED = (
    ScimUser.id.label("id"),
    ScimUser.associate_id.label("associate_id"),
    ScimUser.active.label("active"),
    ScimUser.doc["roles"].label("roles"),
    ScimUser.user_name.label("user_name"),
)


def touch(session: Session, tenant_id: str, user_ids: Iterable[str], at: datetime) -> list:
    """Bump the version of users whose representation changed (their
    ``groups``), locking them in id order; returns, per user, what a plan
    recompute needs: ``id``, ``associate_id``, ``active``, ``roles``, ``user_name``."""
    ids = sorted(set(user_ids))
    touched = []
    for chunk in chunks(ids):
        in_order = (
            select(ScimUser.id)
            .where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(chunk))
            .order_by(ScimUser.id)
            .with_for_update(key_share=True)
        )
        touched += session.execute(
            update(ScimUser)
            .where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(in_order.scalar_subquery()))
            .values(version=ScimUser.version + 1, last_modified=at)
            .returning(*_TOUCHED)
        ).all()
    return sorted(touched, key=lambda row: row.id)


def facts_after(session: Session, tenant_id: str, after: str, limit: int) -> list:
    """The next ``limit`` users by id after ``after``, with what a recompute needs."""
    return session.execute(
        select(*_TOUCHED)
        .where(ScimUser.tenant_id == tenant_id, ScimUser.id > after)
        .order_by(ScimUser.id)
        .limit(limit)
    ).all()


def identities(
    session: Session, tenant_id: str, associate_ids: Sequence[int]
) -> dict[int, Identity]:
    """userName and SCIM id of the users that are these associates, for the
    license ledger and plan-state log (:mod:`licensing_core.identities`)."""
    rows = session.execute(
        select(ScimUser.associate_id, ScimUser.user_name, ScimUser.id).where(
            ScimUser.tenant_id == tenant_id, ScimUser.associate_id.in_(list(associate_ids))
        )
    )
    return {assoc_id: Identity(user_name, scim_id) for assoc_id, user_name, scim_id in rows}


def facts_of(session: Session, tenant_id: str, user_ids: Sequence[str]) -> list:
    """What a recompute needs of these users (no lock)."""
    return session.execute(
        select(*_TOUCHED).where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(list(user_ids)))
    ).all()


# One round trip for a page's derived attributes: each user's groups (kind 2:
# the group id in "requested", its displayName in "granted", casefolded in
# "state"), and its plan state and held modules (kinds 0 and 1, see
# licensing_core.holdings).
_GROUPS = (
    select(
        ScimUser.associate_id.label("associate_id"),
        literal(2).label("kind"),
        ScimGroup.id.label("requested"),
        ScimGroup.display_name.label("granted"),
        ScimGroup.display_name_ci.label("state"),
        GroupMember.user_id.label("reason"),
        literal(None, DateTime).label("pending_since"),
        literal(None, Integer).label("version"),
        literal(None, DateTime).label("updated"),
        literal(None, Integer).label("module_id"),
        literal(None, Integer).label("link_id"),
        literal(None, String).label("module_name"),
        literal(None, Integer).label("sort_order"),
    )
    .select_from(GroupMember)
    .join(
        ScimGroup,
        (ScimGroup.tenant_id == GroupMember.tenant_id) & (ScimGroup.id == GroupMember.group_id),
    )
    .join(
        ScimUser,
        (ScimUser.tenant_id == GroupMember.tenant_id) & (ScimUser.id == GroupMember.user_id),
    )
    .where(
        GroupMember.tenant_id == bindparam("tenant_id"),
        ScimUser.associate_id.in_(bindparam("ids", expanding=True)),
    )
)
_EXTRAS = union_all(*PLAN_SELECTS, _GROUPS).order_by(*ORDER, "state", "requested")
_VIEWS_ONLY = union_all(*PLAN_SELECTS).order_by(*ORDER)


def extras(
    session: Session, tenant_id: str, records: Sequence[UserRecord], *, groups: bool
) -> tuple[dict[int, list[dict]], dict[int, PlanView]]:
    """Each user's ``groups`` (RFC 7643 §4.1.2: value, display, type direct;
    skipped when ``groups`` is False) and plan view, by associate id, in one query."""
    ids = [record.associate_id for record in records]
    if not ids:
        return {}, {}
    rows = (
        session.connection()
        .execute(_EXTRAS if groups else _VIEWS_ONLY, {"tenant_id": tenant_id, "ids": ids})
        .all()
    )
    found: dict[int, list[dict]] = {assoc_id: [] for assoc_id in ids}
    for row in rows:
        if row.kind == 2:
            found[row.associate_id].append(
                {"value": row.requested, "display": row.granted, "type": "direct"}
            )
    return found, plan_views_from(rows, ids)
