"""Bulk seeding for the load bench: many users and big groups in seconds, not hours.

Rows go straight into the store's tables (``associate``, ``scim_user``,
``group_member``; a user without a plan has no ``associate_plan`` row) in
large multi-row INSERTs, built the way
:mod:`scimsrv.storage` builds them: the same columns, the associate per user
with ``name`` = userName casefolded, ``user_name_ci`` casefolded, the ``doc``
scim2-models canonicalises. :func:`check_seeded_like_api` then proves it:
it creates one user over HTTP and compares, table by table, the rows the API
wrote for it with the rows seeded for a user with the same attributes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scim2_models import Context
from sqlalchemy import Engine, insert, select, update

from licensing_core.clock import utcnow
from licensing_core.tables import Associate, Base
from scimsrv.scim.documents import user_document
from scimsrv.scim.parsing import parse_resource
from scimsrv.scim.schemas import UserResource
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

CHUNK = 5000
# Differ between any two users by construction: keys, names, clocks.
VARYING = frozenset(
    {
        "associate_id",
        "assoc_id",
        "scim_user_id",
        "user_id",
        "id",
        "name",
        "userName",
        "user_name",
        "user_name_ci",
        "external_id",
        "registered",
        "updated",
        "created",
        "last_modified",
        "pending_since",
    }
)


def user_body(index: int) -> dict[str, Any]:
    """The SCIM body of seeded user ``index`` (what an IdP would POST)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"Seed.User{index:06d}@Example.com",
        "externalId": f"ext-{index:06d}",
        "name": {"givenName": "Seed", "familyName": f"User{index:06d}"},
        "active": True,
    }


def _user_columns(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scim_user columns and ``doc`` POST /Users writes for ``body``."""
    resource = parse_resource(body, UserResource, Context.RESOURCE_CREATION_REQUEST)
    columns, doc = user_document(resource, default_active=True)
    return {
        "user_name": columns.user_name,
        "user_name_ci": columns.user_name_ci,
        "external_id": columns.external_id,
        "active": columns.active,
        "display_name": columns.display_name,
    }, doc


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Seeded:
    user_ids: list[str]  # by index


def seed_users(engine: Engine, tenant_id: str, count: int, start: int = 0) -> Seeded:
    """Users ``user_body(start) ...`` and their associates, as POST /Users writes them."""
    now = utcnow()
    user_ids: list[str] = []
    associates = Associate.__table__
    with engine.begin() as connection:
        for indexes in _chunks(range(start, start + count)):
            columns = [_user_columns(user_body(i)) for i in indexes]
            assoc_ids = connection.scalars(
                insert(associates).returning(
                    associates.c.associate_id, sort_by_parameter_order=True
                ),
                [
                    {
                        "tenant_id": tenant_id,
                        "name": c["user_name_ci"],
                        "userName": c["user_name"],
                        "type": 1,
                        "deleted": not c["active"],
                        "registered": now,
                        "registered_associate_id": 0,
                        "updated_associate_id": 0,
                        "updatedCount": 0,
                    }
                    for c, _doc in columns
                ],
            ).all()
            rows = []
            for (c, doc), assoc_id in zip(columns, assoc_ids, strict=True):
                user_id = str(uuid.uuid4())
                user_ids.append(user_id)
                rows.append(
                    {
                        "tenant_id": tenant_id,
                        "scim_user_id": user_id,
                        "associate_id": assoc_id,
                        "doc": doc,
                        "version": 1,
                        "created": now,
                        "last_modified": now,
                        **c,
                    }
                )
            connection.execute(insert(ScimUser.__table__), rows)
    return Seeded(user_ids)


def seed_members(engine: Engine, tenant_id: str, group_id: str, user_ids: Sequence[str]) -> None:
    """Make ``user_ids`` members of the group, as one PATCH add of all of them would:
    the membership rows, and the group's version bumped once."""
    with engine.begin() as connection:
        for chunk in _chunks(user_ids):
            connection.execute(
                insert(GroupMember.__table__),
                [{"tenant_id": tenant_id, "group_id": group_id, "user_id": u} for u in chunk],
            )
        connection.execute(
            update(ScimGroup.__table__)
            .where(
                ScimGroup.__table__.c.tenant_id == tenant_id,
                ScimGroup.__table__.c.scim_group_id == group_id,
            )
            .values(
                version=ScimGroup.__table__.c.version + 1,
                last_modified=utcnow(),
            )
        )


def _rows_of(engine: Engine, tenant_id: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row in any table that belongs to this SCIM user or its associate."""
    with engine.connect() as connection:
        assoc_id = connection.scalar(
            select(ScimUser.associate_id).where(
                ScimUser.tenant_id == tenant_id, ScimUser.id == user_id
            )
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for table in Base.metadata.sorted_tables:
            keys = [
                (column, value)
                for column, value in (
                    ("scim_user_id", user_id),
                    ("user_id", user_id),
                    ("associate_id", assoc_id),
                    ("assoc_id", assoc_id),
                )
                if column in table.c
            ]
            if "tenant_id" not in table.c or not keys:
                continue
            column, value = keys[0]
            rows = connection.execute(
                select(table).where(table.c.tenant_id == tenant_id, table.c[column] == value)
            ).mappings()
            listed = [{k: v for k, v in row.items() if k not in VARYING} for row in rows]
            if listed:
                found[table.name] = sorted(listed, key=repr)
    return found


def check_seeded_like_api(
    engine: Engine,
    tenant_id: str,
    seeded_user_id: str,
    seeded_index: int,
    post_user: Callable[[dict[str, Any]], str],
) -> list[str]:
    """Differences between the rows of a seeded user and of one the API creates
    from an equal body (``post_user`` POSTs it and returns the new id);
    names, keys and clocks aside, there must be none."""
    body = user_body(seeded_index)
    body["userName"] = "api-" + body["userName"]
    body["externalId"] = "api-" + body["externalId"]
    api_user_id = post_user(body)
    api_rows = _rows_of(engine, tenant_id, api_user_id)
    seeded_rows = _rows_of(engine, tenant_id, seeded_user_id)
    problems = []
    for table in sorted(set(api_rows) | set(seeded_rows)):
        if api_rows.get(table) != seeded_rows.get(table):
            problems.append(
                f"{table}: API wrote {api_rows.get(table)}, seed wrote {seeded_rows.get(table)}"
            )
    return problems
