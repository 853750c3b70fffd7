"""What the use cases need from storage (:mod:`scimsrv.services`), as protocols.

One :class:`Storage` is one transaction's view of one tenant: it reads and
writes SCIM users, groups and memberships, bearer tokens, plan rules, the
facts a plan recompute reads and the audit log, removes a whole tenant, and
never commits. The SQLAlchemy
implementation over SQLite and PostgreSQL is :class:`scimsrv.storage.sql.SqlStorage`;
``tests/test_storage_contract.py`` holds every implementation to the same
behaviour. Records are plain objects with the attribute names of the
tables (:mod:`scimsrv.storage.tables`); errors are the protocol's
(:class:`~scimsrv.scim.errors.ScimError`: 404, 409 ``uniqueness``, 400
``invalidValue``, ``invalidFilter``...).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from licensing_core.holdings import PlanView
from licensing_core.identities import Identity
from scimsrv.scim.documents import GroupColumns, UserColumns
from scimsrv.storage.audit import Query
from scimsrv.storage.listing import ListRequest, Page

Record = Any  # a row-like object with the table's attribute names


class UserStorage(Protocol):
    def create(self, columns: UserColumns, doc: dict, at: datetime) -> Record:
        """A new user and its CRM associate; 409 ``uniqueness`` for a taken userName."""

    def read(self, user_id: str, *, lock: str | None = None) -> Record | None:
        """The user (with ``plan_version``, ``plan_updated``) or None; ``lock``
        ``"update"`` or ``"delete"`` row-locks it until the transaction ends."""

    def replace(self, record: Record, columns: UserColumns, doc: dict, at: datetime) -> Record:
        """New attributes and a new version; 409 ``uniqueness`` for a taken userName."""

    def delete(self, record: Record) -> list[str]:
        """Delete the user, its memberships and associate; the ids of its groups."""

    def group_ids_of(self, user_id: str) -> list[str]:
        """The ids of the groups the user is in, sorted."""

    def touch(self, user_ids: Sequence[str], at: datetime) -> list[Record]:
        """New versions for these users, row-locked in id order; per user
        ``id, associate_id, active, roles, user_name``."""

    def facts_after(self, after: str, limit: int) -> list[Record]:
        """The next ``limit`` users by id after ``after`` (as :meth:`touch` returns them)."""

    def identities(self, associate_ids: Sequence[int]) -> Mapping[int, Identity]:
        """userName and SCIM id of the users that are these associates."""

    def extras(
        self, records: Sequence[Record], *, groups: bool
    ) -> tuple[dict[int, list[dict]], dict[int, PlanView]]:
        """Each user's ``groups`` and plan view, by associate id."""

    def page(self, request: ListRequest) -> Page[Record]:
        """Filter, sort and paginate (RFC 7644 §3.4.2, RFC 9865)."""


class GroupStorage(Protocol):
    def create(self, columns: GroupColumns, doc: dict, at: datetime) -> Record:
        """A new group without members."""

    def read(self, group_id: str, *, lock: str | None = None) -> Record | None:
        """The group or None; ``lock`` as :meth:`UserStorage.read`."""

    def lock(self, group_ids: Sequence[str]) -> None:
        """Row-lock these groups in id order."""

    def replace(self, record: Record, columns: GroupColumns, doc: dict, at: datetime) -> Record:
        """New attributes (members aside) and a new version."""

    def bump(self, group_ids: Sequence[str], at: datetime) -> None:
        """New versions for groups whose members changed."""

    def bumped(self, record: Record, at: datetime) -> Record:
        """:meth:`bump` for one group: the record with its new version."""

    def delete(self, record: Record) -> list[str]:
        """Delete the group and its memberships; the ids of its members."""

    def add_members(self, group_id: str, members: Mapping[str, str | None]) -> list[str]:
        """Add users (id -> display sent); the ids added. 400 for an unknown user."""

    def remove_members(self, group_id: str, user_ids: Sequence[str] | None) -> list[str]:
        """Remove these users (None: all); the ids removed."""

    def replace_members(
        self, group_id: str, members: Mapping[str, str | None]
    ) -> tuple[list[str], list[str]]:
        """Members become exactly ``members``; the ids added, and those removed."""

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[dict]]:
        """The ``members`` attribute of each group."""

    def member_ids(self, group_id: str) -> list[str]:
        """A group's member ids."""

    def memberships(self, user_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None]]]:
        """Each user's groups as (displayName, externalId)."""

    def member_counts(self, group_ids: Sequence[str]) -> dict[str, int]:
        """How many members each group has."""

    def page(self, request: ListRequest) -> Page[Record]:
        """Filter, sort and paginate (RFC 7644 §3.4.2, RFC 9865)."""


class TokenStorage(Protocol):
    def by_hash(self, digest: str, *, gated: bool = False) -> Record | None:
        """The token with this SHA-256: ``token_hash``, ``tenant_id``, ``revoked``,
        ``prefix``, ``label``, and its tenant's ``suspended``. ``gated``: when
        found, enter the storage's tenant's gate shared for the transaction
        (:func:`licensing_core.tenants.gate`; a no-op where writes are serial)."""

    def insert(self, owner: str | None, digest: str, prefix: str, label: str, at: datetime) -> None:
        """A new token of ``owner`` (a tenant id; None: an operator)."""

    def listed(self, owner: str | None) -> list[Record]:
        """The owner's tokens, oldest first: ``id, prefix, label, created, revoked``."""

    def live_matching(self, owner: str | None, key: str) -> list[Record]:
        """The owner's live tokens whose prefix (or, for digits, id) is ``key``."""

    def revoke(self, token_id: int, at: datetime) -> None:
        """Mark a token revoked."""


class RuleStorage(Protocol):
    def lock_with_rules(self, lock: Any) -> list[Record]:
        """Take ``lock`` (:class:`scimsrv.storage.plans.Lock`) on the tenant row and
        read its rules in position order; UnknownTenant when it does not exist."""

    def rows(self) -> list[Any]:
        """The rules as editable rows, in position order."""

    def add(self, rule: Any) -> None: ...

    def delete(self, rule: Any) -> None: ...

    def save(self, rules: list[Any], at: datetime) -> None:
        """Positions 1..n in list order, then every changed rule written."""

    def groups_found(
        self, display_names: Collection[str], external_ids: Collection[str]
    ) -> tuple[set[str], set[str]]:
        """Which of these displayNames (compared casefolded, returned
        casefolded) and externalIds a group of the tenant has."""


class AuditStorage(Protocol):
    def append(self, values: dict[str, Any], *, tenant_id: str | None = None) -> None:
        """One entry of the tenant's audit log (one INSERT); ``values``: every
        column of :class:`~scimsrv.storage.tables.AuditEntry` but the keys;
        ``tenant_id``: another tenant's log (a tenant's creation by a request
        that names no tenant)."""

    def entries(self, query: Query) -> list[Record]:
        """The entries ``query`` selects, newest first: ``id, at, actor,
        request, status, error, changes``."""

    def count(self, query: Query) -> int:
        """How many entries ``query`` selects, paging aside."""

    def user_keys(self, who: str) -> set[str]:
        """The keys entries concerning ``who`` (a SCIM id or userName) carry:
        ``who`` casefolded, and the id and casefolded userName of the user
        it names now, if any."""


class DirectoryStorage(Protocol):
    """The tenant's whole directory at once (:mod:`scimsrv.storage.tenants`)."""

    def counts(self) -> Any:
        """Users, groups and live tokens (``users``, ``groups``, ``live_tokens``)."""

    def clear(self) -> Any:
        """Delete every user (and associate), group, membership, rule and token;
        the counts there were. Licenses must have been released first."""

    def purge(self) -> int:
        """Delete every row of the tenant in every table, its own row last; the rows deleted."""


class Storage(Protocol):
    """One transaction's storage for one tenant."""

    users: UserStorage
    groups: GroupStorage
    tokens: TokenStorage
    rules: RuleStorage
    audit: AuditStorage
    directory: DirectoryStorage
