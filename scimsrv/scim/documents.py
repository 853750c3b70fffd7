"""A SCIM resource as the service stores it, and back (RFC 7643 §4.1, §4.2).

Attributes that filters hit on every provisioning cycle are columns
(``userName``, ``externalId``, ``active``, ``displayName``); the rest of the
resource is ``doc``, JSON under the canonical attribute names. ``groups``
and the licensing extension are never stored (they come from memberships
and the plan state), nor is ``password`` (Okta sends one; the CRM has its
own login). No I/O here: these are the protocol's rules of representation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from scim2_models import Context

from licensing_core.holdings import PlanView
from licensing_core.plans import Combination
from scimsrv.scim.errors import ScimError
from scimsrv.scim.urns import GROUP_SCHEMA, LICENSING_SCHEMA, USER_SCHEMA
from scimsrv.scim.values import bounded_values, column

_USER_NOT_IN_DOC = frozenset(
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
_GROUP_NOT_IN_DOC = frozenset({"schemas", "id", "meta", "displayName", "externalId", "members"})


@dataclass(frozen=True)
class UserColumns:
    """A user's column attributes; ``user_name_ci`` is the casefolded userName
    (userName is not caseExact: uniqueness and ``eq`` use it)."""

    user_name: str
    external_id: str | None
    active: bool | None
    display_name: str | None

    @property
    def user_name_ci(self) -> str:
        return self.user_name.casefold()


@dataclass(frozen=True)
class GroupColumns:
    display_name: str
    external_id: str | None

    @property
    def display_name_ci(self) -> str:
        return self.display_name.casefold()


def prune(value: Any) -> Any:
    """Drop nulls and empty containers: RFC 7643 §2.5 treats them as unassigned."""
    if isinstance(value, dict):
        pruned = {key: prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, {}, [])}
    if isinstance(value, list):
        pruned_list = [prune(item) for item in value]
        return [item for item in pruned_list if item not in (None, {}, [])]
    return value


def _dumped(resource: Any) -> dict[str, Any]:
    return prune(resource.model_dump(mode="json", scim_ctx=Context.DEFAULT))


def user_document(resource: Any, *, default_active: bool | None) -> tuple[UserColumns, dict]:
    """A validated user (``UserResource``) as columns and ``doc``.

    ``default_active``: what ``active`` is when the resource leaves it out:
    True for a new user (a service-provider default, RFC 7643 §2.2), None
    (unassigned) for a replacement (RFC 7644 §3.5.1).

    :raises ScimError: 400 ``invalidValue`` without a userName, or with more
        values in a multi-valued attribute than :data:`~scimsrv.scim.values.MAX_VALUES`.
    """
    data = _dumped(resource)
    bounded_values(data)
    user_name = data.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "userName is required (RFC 7643 §4.1.1)", "invalidValue")
    columns = UserColumns(
        user_name=column(user_name, "userName", folded=True),
        external_id=column(data.get("externalId"), "externalId"),
        active=data.get("active", default_active),
        display_name=column(data.get("displayName"), "displayName"),
    )
    return columns, {k: v for k, v in data.items() if k not in _USER_NOT_IN_DOC}


def group_document(resource: Any) -> tuple[GroupColumns, dict, dict[str, str | None]]:
    """A validated group (``GroupResource``) as columns, ``doc`` and its members
    (user id -> display sent, see :func:`member_ids`).

    :raises ScimError: 400 ``invalidValue`` without a displayName, for a
        member that is not a user, or with more values in a multi-valued
        attribute than :data:`~scimsrv.scim.values.MAX_VALUES` (members are not
        capped).
    """
    data = _dumped(resource)
    bounded_values(data, unbounded=frozenset({"members"}))
    members = member_ids(data.get("members") or [])
    display_name = data.get("displayName")
    if not isinstance(display_name, str) or not display_name.strip():
        raise ScimError(400, "displayName is required (RFC 7643 §4.2)", "invalidValue")
    columns = GroupColumns(
        display_name=column(display_name, "displayName", folded=True),
        external_id=column(data.get("externalId"), "externalId"),
    )
    return columns, {k: v for k, v in data.items() if k not in _GROUP_NOT_IN_DOC}, members


def member_ids(value: Any) -> dict[str, str | None]:
    """The members a ``members`` value names (``[{"value": id, "display": ...}]``,
    or one such object): user id -> the display sent (None when absent), in order.

    :raises ScimError: 400 ``invalidValue`` for anything else, and for a
        member that is not a user (nested groups are not supported).
    """
    entries = value if isinstance(value, list) else [value]
    ids: dict[str, str | None] = {}
    for entry in entries:
        member_id = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(member_id, str) or not member_id:
            raise ScimError(400, "each member needs a 'value' holding a user id", "invalidValue")
        member_type = entry.get("type")
        if isinstance(member_type, str) and member_type.lower() != "user":
            raise ScimError(400, f"member {member_id}: only users can be members", "invalidValue")
        display = entry.get("display")
        display = column(display, "a member's display") if isinstance(display, str) else None
        ids.setdefault(member_id, display)
    return ids


def format_datetime(value: datetime) -> str:
    """A naive-UTC column value as an RFC 7643 §2.3.5 dateTime."""
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def meta(resource_type: str, created: datetime, modified: datetime, version: str) -> dict:
    """``meta`` without ``location`` (the edge adds it: it depends on the URL asked)."""
    return {
        "resourceType": resource_type,
        "created": format_datetime(created),
        "lastModified": format_datetime(modified),
        "version": version,
    }


def user_body(
    record: Any, groups: list[dict] | None, licensing: dict | None, version: str, modified: datetime
) -> dict[str, Any]:
    """The SCIM JSON of a stored user (``record`` has the column attributes
    and ``doc``): ``groups`` when given and non-empty, the licensing
    extension when given, ``meta`` with ``version`` (RFC 7643 §3.1)."""
    schemas = [USER_SCHEMA, *sorted(key for key in record.doc if key.startswith("urn:"))]
    body: dict[str, Any] = {"schemas": schemas, "id": record.id}
    if record.external_id is not None:
        body["externalId"] = record.external_id
    body["userName"] = record.user_name
    if record.display_name is not None:
        body["displayName"] = record.display_name
    if record.active is not None:
        body["active"] = record.active
    body.update(record.doc)
    if groups:
        body["groups"] = groups
    if licensing is not None:
        schemas.append(LICENSING_SCHEMA)
        body[LICENSING_SCHEMA] = licensing
    body["meta"] = meta("User", record.created, modified, version)
    return body


def group_body(record: Any, members: list[dict] | None) -> dict[str, Any]:
    """The SCIM JSON of a stored group; ``members`` None leaves the attribute out."""
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": record.id}
    if record.external_id is not None:
        body["externalId"] = record.external_id
    body["displayName"] = record.display_name
    body.update(record.doc)
    if members is not None:
        body["members"] = members
    body["meta"] = meta("Group", record.created, record.last_modified, weak_etag(record.version))
    return body


def weak_etag(*versions: int) -> str:
    """The ETag of a resource version (RFC 7644 §3.14): ``W/"7"``; a user's
    also counts its plan state's version, ``W/"7.3"``, so a change to its
    licensing extension alone yields a new ETag too."""
    shown = [str(versions[0]), *(str(v) for v in versions[1:] if v)]
    return f'W/"{".".join(shown)}"'


@lru_cache(maxsize=256)
def _granted(granted: str) -> tuple[str, tuple[str, ...]]:
    """The display name and base plans of a granted combination (a pure parse)."""
    combination = Combination.parse(granted)
    return combination.name, tuple(plan.name for plan in combination)


def licensing_extension(view: PlanView) -> dict[str, Any]:
    """The read-only licensing extension of a user: ``state`` (licensed /
    pending / none), ``planCombination`` and ``basePlans`` granted,
    ``requestedPlans``, ``licenses`` held (code names, signature order),
    ``reason`` (why a requested plan is not granted)."""
    extension: dict[str, Any] = {"state": view.state}
    if view.granted:
        extension["planCombination"], base_plans = _granted(view.granted)
        extension["basePlans"] = list(base_plans)
    if view.requested:
        extension["requestedPlans"] = view.requested
    if view.licenses:
        extension["licenses"] = list(view.licenses)
    if view.reason:
        extension["reason"] = view.reason
    return extension
