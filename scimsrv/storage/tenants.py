"""A whole tenant's rows at once: what ``tenant show`` counts, what deleting a
tenant removes from its directory (users, groups, memberships, rules,
tokens) and what purging it removes (every row of every table)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from licensing_core.tables import Associate
from scimsrv.storage.tables import ApiToken, GroupMember, PlanRule, ScimGroup, ScimUser, metadata


@dataclass(frozen=True)
class DirectoryCounts:
    """How many users, groups and live (unrevoked) bearer tokens a tenant has."""

    users: int
    groups: int
    live_tokens: int


def counts(session: Session, tenant_id: str) -> DirectoryCounts:
    """The tenant's users, groups and live tokens, in one query."""

    def count(table, *where):
        return (
            select(func.count()).select_from(table).where(table.tenant_id == tenant_id, *where)
        ).scalar_subquery()

    row = session.execute(
        select(count(ScimUser), count(ScimGroup), count(ApiToken, ApiToken.revoked.is_(None)))
    ).one()
    return DirectoryCounts(*row)


def clear_directory(session: Session, tenant_id: str) -> DirectoryCounts:
    """Delete the tenant's memberships, groups, users and their associates,
    rules and tokens (revoked ones too). The associates' licenses must have
    been released already (links refer to them).

    :returns: the users, groups and live tokens there were.
    """
    before = counts(session, tenant_id)
    for table in (GroupMember, ScimGroup, ScimUser, Associate, PlanRule, ApiToken):
        session.execute(delete(table).where(table.tenant_id == tenant_id))
    return before


def purge(session: Session, tenant_id: str) -> int:
    """Delete every row of the tenant from every table of the schema (children
    before the tables they refer to), the tenant row last; operator tokens,
    which belong to no tenant, stay.

    :returns: the number of rows deleted.
    """
    deleted = 0
    for table in reversed(metadata.sorted_tables):
        if "tenant_id" in table.c:
            deleted += session.execute(delete(table).where(table.c.tenant_id == tenant_id)).rowcount
    session.expire_all()
    return deleted
