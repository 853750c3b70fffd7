"""SCIM Users (RFC 7643 §4.1) in the database; each is one CRM associate.

Every function runs inside the caller's transaction and never commits: the
plan recompute and license links of the same request commit with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensing_core.tables import Associate
from scimsrv.scim.errors import ScimError
from scimsrv.scim.schemas import LICENSING_SCHEMA
from scimsrv.storage.filters import USERS, UserModel
from scimsrv.storage.listing import ListRequest, Page, run_list
from scimsrv.storage.rows import (
    canonical,
    check_version,
    find_row,
    get_row,
    meta,
    utcnow,
)
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
RESOURCE_TYPE = "User"
ENDPOINT = "Users"

# Attributes kept in columns, or never stored (password: accepted and dropped,
# as Okta sends one; groups and the licensing extension: read-only, derived
# from group_member and from the plan state and links).
_NOT_IN_DOC = frozenset(
    {
        "schemas",
        "id",
        "meta",
        "userName",
        "externalId",
        "active",
        "displayName",
        "groups",
        "password",
        LICENSING_SCHEMA,
    }
)


def _user_columns(
    attributes: Mapping[str, Any], default_active: bool | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    body, addresses = _set_aside_email_addresses(attributes)
    data = canonical(UserModel, body)
    for email, address in zip(data.get("emails", []), addresses, strict=False):
        email["value"] = address
    user_name = data.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "userName is required (RFC 7643 §4.1.1)", "invalidValue")
    columns = {
        "user_name": user_name,
        "user_name_ci": user_name.casefold(),
        "external_id": data.get("externalId"),
        "active": data.get("active", default_active),
        "display_name": data.get("displayName"),
    }
    doc = {key: value for key, value in data.items() if key not in _NOT_IN_DOC}
    return columns, doc


def _set_aside_email_addresses(attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The body with every email address swapped for a placeholder, and the
    addresses. scim2-models' EmailStr refuses directory domains such as
    ``okta.local`` that IdPs send; the address is kept as given instead."""
    body = dict(attributes)
    key = next((k for k in body if k.lower() == "emails"), None)
    emails = body.get(key) if key else None
    if not isinstance(emails, list) or not all(
        isinstance(e, dict) and isinstance(e.get("value"), str) and e["value"] for e in emails
    ):
        return body, []
    body[key] = [{**e, "value": f"e{i}@example.com"} for i, e in enumerate(emails)]
    return body, [e["value"] for e in emails]


def _conflict(user_name: str) -> ScimError:
    return ScimError(409, f"userName {user_name!r} is already taken", "uniqueness")


def _check_user_name_free(
    session: Session, tenant_id: str, user_name_ci: str, user_name: str, except_id: str | None
) -> None:
    query = select(ScimUser.id).where(
        ScimUser.tenant_id == tenant_id, ScimUser.user_name_ci == user_name_ci
    )
    if except_id is not None:
        query = query.where(ScimUser.id != except_id)
    if session.scalar(query) is not None:
        raise _conflict(user_name)
    # A CRM login created outside SCIM holds the name too.
    taken = select(Associate.id).where(
        Associate.tenant_id == tenant_id, Associate.name == user_name_ci
    )
    if except_id is not None:
        taken = taken.where(
            Associate.id
            != select(ScimUser.associate_id)
            .where(ScimUser.tenant_id == tenant_id, ScimUser.id == except_id)
            .scalar_subquery()
        )
    if session.scalar(taken) is not None:
        raise _conflict(user_name)


def _flush(session: Session, user_name: str) -> None:
    """Flush in a savepoint, so a concurrent insert of the same userName is a
    409 and leaves the caller's transaction usable."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise _conflict(user_name) from exc


def create_user(
    session: Session, tenant_id: str, attributes: Mapping[str, Any], *, now: datetime | None = None
) -> ScimUser:
    """Create a user and its associate (``name`` = userName casefolded,
    ``deleted`` = active is false) in the caller's transaction (RFC 7644 §3.3).

    ``attributes`` is the request body: validated here with scim2-models
    (User + enterprise extension); ``id``, ``meta``, ``groups`` and
    ``password`` in it are ignored.

    :raises ScimError: 409 ``uniqueness`` when the userName (compared
        case-insensitively) is taken in the tenant; 400 ``invalidValue`` for
        attributes that do not fit the schema.
    """
    now = now or utcnow()
    # A new user without "active" is active (a service-provider default, RFC 7643 §2.2).
    columns, doc = _user_columns(attributes, default_active=True)
    _check_user_name_free(session, tenant_id, columns["user_name_ci"], columns["user_name"], None)
    associate = Associate(
        tenant_id=tenant_id,
        name=columns["user_name_ci"],
        user_name=columns["user_name"],
        deleted=columns["active"] is False,
        registered=now,
    )
    session.add(associate)
    _flush(session, columns["user_name"])
    user = ScimUser(
        tenant_id=tenant_id,
        id=str(uuid.uuid4()),
        associate_id=associate.id,
        doc=doc,
        version=1,
        created=now,
        last_modified=now,
        **columns,
    )
    session.add(user)
    _flush(session, columns["user_name"])
    return user


def find_user(
    session: Session, tenant_id: str, user_id: str, *, for_update: bool = False
) -> ScimUser | None:
    """The user row, or None (see :func:`scimsrv.storage.rows.find_row`)."""
    return find_row(session, ScimUser, tenant_id, user_id, for_update=for_update)


def get_user(session: Session, tenant_id: str, user_id: str) -> ScimUser:
    """The user row; 404 ScimError when the tenant has no such user."""
    return get_row(session, ScimUser, RESOURCE_TYPE, tenant_id, user_id)


def replace_user(
    session: Session,
    tenant_id: str,
    user_id: str,
    attributes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ScimUser:
    """Replace every attribute of a user (PUT, RFC 7644 §3.5.1; PATCH applies
    its operations to :func:`user_to_resource` and calls this with the
    result). Bumps ``version``; keeps the associate's login in step.

    :param expected_version: the version an ``If-Match`` names; 412 if stale.
    :raises ScimError: 404, 409 ``uniqueness``, 400 ``invalidValue``, 412.
    """
    now = now or utcnow()
    user = get_user(session, tenant_id, user_id)
    check_version(RESOURCE_TYPE, user, expected_version)
    # A replacement without "active" leaves it unassigned (RFC 7644 §3.5.1).
    columns, doc = _user_columns(attributes, default_active=None)
    if columns["user_name_ci"] != user.user_name_ci:
        _check_user_name_free(
            session, tenant_id, columns["user_name_ci"], columns["user_name"], user.id
        )
    changed = doc != user.doc or any(getattr(user, k) != v for k, v in columns.items())
    if not changed:
        return user
    for key, value in columns.items():
        setattr(user, key, value)
    user.doc = doc
    user.version += 1
    user.last_modified = now
    associate = session.get(Associate, user.associate_id)
    if associate is not None:
        associate.name = columns["user_name_ci"]
        associate.user_name = columns["user_name"]
        associate.deleted = columns["active"] is False
        associate.updated = now
        associate.updated_count = (associate.updated_count or 0) + 1
    _flush(session, columns["user_name"])
    return user


def delete_user(
    session: Session,
    tenant_id: str,
    user_id: str,
    *,
    release_licenses: Callable[[Session, int], None] | None = None,
) -> int:
    """Delete a user, its memberships and its associate (RFC 7644 §3.6).

    ``release_licenses(session, associate_id)`` is the hook point for the
    licensing core: it runs after the memberships are gone and before the
    associate row is deleted, and must remove the associate's license links
    (their foreign key would refuse the delete otherwise).

    :returns: the deleted associate's id.
    :raises ScimError: 404 when the tenant has no such user.
    """
    user = get_user(session, tenant_id, user_id)
    associate_id = user.associate_id
    session.execute(
        delete(GroupMember).where(
            GroupMember.tenant_id == tenant_id, GroupMember.user_id == user_id
        )
    )
    if release_licenses is not None:
        release_licenses(session, associate_id)
    session.delete(user)
    session.flush()
    session.execute(
        delete(Associate).where(Associate.tenant_id == tenant_id, Associate.id == associate_id)
    )
    return associate_id


def list_users(
    session: Session, tenant_id: str, request: ListRequest, *, max_count: int = 1000
) -> Page[ScimUser]:
    """GET /Users with filter, sortBy/sortOrder, startIndex/count or cursor
    (RFC 7644 §3.4.2, RFC 9865), all run in SQL.

    :raises ScimError: 400 ``invalidFilter`` / ``invalidValue`` / ``invalidCursor``.
    """
    return run_list(session, tenant_id, USERS, request, max_count=max_count)


# Built once: a lookup runs it on every request, only the bound values change.
_GROUPS_OF = (
    select(GroupMember.user_id, ScimGroup.id, ScimGroup.display_name)
    .join(
        ScimGroup,
        (ScimGroup.tenant_id == GroupMember.tenant_id) & (ScimGroup.id == GroupMember.group_id),
    )
    .where(
        GroupMember.tenant_id == bindparam("tenant_id"),
        GroupMember.user_id.in_(bindparam("user_ids", expanding=True)),
    )
    .order_by(GroupMember.user_id, ScimGroup.display_name_ci, ScimGroup.id)
)


def user_groups(
    session: Session, tenant_id: str, user_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """The read-only ``groups`` attribute of each user (RFC 7643 §4.1.2), in
    one query for a whole page: ``{user_id: [{"value", "display", "type"}]}``."""
    result: dict[str, list[dict[str, Any]]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return result
    rows = session.connection().execute(
        _GROUPS_OF, {"tenant_id": tenant_id, "user_ids": list(user_ids)}
    )
    for user_id, group_id, display in rows:
        result[user_id].append({"value": group_id, "display": display, "type": "direct"})
    return result


def user_to_resource(
    user: ScimUser,
    *,
    base_url: str | None = None,
    groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The SCIM JSON of a user: ``schemas``, ``id``, the stored attributes,
    ``groups`` when given (see :func:`user_groups`), and ``meta`` with
    ``version`` as a weak ETag. ``meta.location`` is set when ``base_url``
    (the tenant's ``.../scim/v2``) is given."""
    schemas = [USER_SCHEMA, *sorted(key for key in user.doc if key.startswith("urn:"))]
    resource: dict[str, Any] = {"schemas": schemas, "id": user.id}
    if user.external_id is not None:
        resource["externalId"] = user.external_id
    resource["userName"] = user.user_name
    if user.display_name is not None:
        resource["displayName"] = user.display_name
    if user.active is not None:
        resource["active"] = user.active
    resource.update(user.doc)
    if groups:
        resource["groups"] = groups
    resource["meta"] = meta(RESOURCE_TYPE, user, base_url, ENDPOINT)
    return resource
