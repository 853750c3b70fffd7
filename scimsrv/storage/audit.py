"""The audit log's SQL (table ``audit_log``): append one entry, read a tenant's
entries newest first with filters, and delete what retention lets go.

An append is one INSERT. PostgreSQL numbers entries with the column's
identity; SQLite, which runs one write transaction at a time, numbers them
with the tenant's highest number + 1 inside that same INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Text,
    and_,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.orm import Session

from scimsrv.storage.tables import AuditEntry, ScimUser

TABLE = AuditEntry.__table__
COLUMNS = ("id", "at", "actor", "request", "status", "error", "changes")


@dataclass(frozen=True)
class Query:
    """Which entries of a tenant to read, newest first.

    ``user_keys``: an entry concerning any of these (SCIM ids, casefolded
    userNames); ``since``/``until``: ``since <= at < until``; ``before``:
    entries numbered below it (a cursor); ``offset`` rows skipped, then at
    most ``limit``.
    """

    user_keys: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    offset: int = 0
    limit: int = 100


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def append(session: Session, tenant_id: str, values: dict[str, Any]) -> None:
    """One entry of ``tenant_id`` with ``values`` (every column but the keys)."""
    statement = insert(TABLE).values(tenant_id=tenant_id, **values)
    if not _postgres(session):
        highest = select(func.coalesce(func.max(TABLE.c.entry_id), 0) + 1).where(
            TABLE.c.tenant_id == tenant_id
        )
        statement = statement.values(entry_id=highest.scalar_subquery())
    session.execute(statement)


def user_keys(session: Session, tenant_id: str, who: str) -> set[str]:
    """``who`` casefolded, and the SCIM id and casefolded userName of the
    tenant's user whose id or userName it is, if there is one."""
    folded = who.casefold()
    found = session.execute(
        select(ScimUser.id, ScimUser.user_name_ci).where(
            ScimUser.tenant_id == tenant_id,
            (ScimUser.id == who) | (ScimUser.user_name_ci == folded),
        )
    ).all()
    return {folded, *(key for row in found for key in row)}


def _concerns(session: Session, keys: Sequence[str]):
    """Entries whose ``user_keys`` hold one of ``keys``."""
    if _postgres(session):
        return type_coerce(TABLE.c.user_keys, JSONB).has_any(cast(array(list(keys)), ARRAY(Text)))
    elements = func.json_each(TABLE.c.user_keys).table_valued(column("value")).alias()
    return exists(select(1).select_from(elements).where(elements.c.value.in_(list(keys))))


def _where(session: Session, tenant_id: str, query: Query) -> list:
    where = [TABLE.c.tenant_id == tenant_id]
    if query.user_keys:
        where.append(_concerns(session, query.user_keys))
    if query.since is not None:
        where.append(TABLE.c.at >= query.since)
    if query.until is not None:
        where.append(TABLE.c.at < query.until)
    return where


def entries(session: Session, tenant_id: str, query: Query) -> list:
    """The entries ``query`` selects (rows with :data:`COLUMNS`), newest first."""
    where = _where(session, tenant_id, query)
    if query.before is not None:
        where.append(TABLE.c.entry_id < query.before)
    statement = (
        select(TABLE.c.entry_id.label("id"), *(TABLE.c[name] for name in COLUMNS[1:]))
        .where(and_(*where))
        .order_by(TABLE.c.entry_id.desc())
        .offset(query.offset)
        .limit(query.limit)
    )
    return session.execute(statement).all()


def count(session: Session, tenant_id: str, query: Query) -> int:
    """How many entries ``query`` selects, paging aside."""
    where = _where(session, tenant_id, query)
    return session.execute(select(func.count()).select_from(TABLE).where(*where)).scalar_one()


def prune(session: Session, before: datetime) -> int:
    """Delete entries written before ``before``, except each tenant's newest
    (its number stays taken, so SQLite never numbers an entry the same
    again); how many went."""
    newer = TABLE.alias("newer")
    not_newest = exists(
        select(1).where(newer.c.tenant_id == TABLE.c.tenant_id, newer.c.entry_id > TABLE.c.entry_id)
    )
    result = session.execute(delete(TABLE).where(TABLE.c.at < before, not_newest))
    return result.rowcount
