"""The SQLAlchemy implementation of :class:`scimsrv.storage.protocol.Storage`
over one session (one transaction) and one tenant, for SQLite and PostgreSQL.
The SQL itself is in :mod:`.users`, :mod:`.groups`, :mod:`.tokens`,
:mod:`.rules`, :mod:`.plans`, :mod:`.audit`, :mod:`.tenants` and :mod:`.listing`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from scimsrv.scim.documents import GroupColumns, UserColumns
from scimsrv.storage import audit, groups, plans, rules, tenants, tokens, users
from scimsrv.storage.filters import GROUPS, USERS
from scimsrv.storage.listing import ListRequest, run_list


class _Bound:
    def __init__(self, session: Session, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id


class SqlUsers(_Bound):
    def create(self, columns: UserColumns, doc: dict, at: datetime):
        return users.create_user(self.session, self.tenant_id, columns, doc, at)

    def read(self, user_id: str, *, lock: str | None = None):
        return users.read_user(self.session, self.tenant_id, user_id, lock=lock)

    def replace(self, record, columns: UserColumns, doc: dict, at: datetime):
        return users.replace_user(self.session, self.tenant_id, record, columns, doc, at)

    def delete(self, record) -> list[str]:
        return users.delete_user(self.session, self.tenant_id, record)

    def group_ids_of(self, user_id: str) -> list[str]:
        return users.group_ids_of(self.session, self.tenant_id, user_id)

    def touch(self, user_ids: Sequence[str], at: datetime) -> list:
        return users.touch(self.session, self.tenant_id, user_ids, at)

    def facts_after(self, after: str, limit: int) -> list:
        return users.facts_after(self.session, self.tenant_id, after, limit)

    def identities(self, associate_ids: Sequence[int]):
        return users.identities(self.session, self.tenant_id, associate_ids)

    def extras(self, records: Sequence[Any], *, groups: bool):
        return users.extras(self.session, self.tenant_id, records, groups=groups)

    def page(self, request: ListRequest):
        return run_list(self.session, self.tenant_id, USERS, request)


class SqlGroups(_Bound):
    def create(self, columns: GroupColumns, doc: dict, at: datetime):
        return groups.create_group(self.session, self.tenant_id, columns, doc, at)

    def read(self, group_id: str, *, lock: str | None = None):
        return groups.read_group(self.session, self.tenant_id, group_id, lock=lock)

    def lock(self, group_ids: Sequence[str]) -> None:
        groups.lock_groups(self.session, self.tenant_id, group_ids)

    def replace(self, record, columns: GroupColumns, doc: dict, at: datetime):
        return groups.replace_group(self.session, self.tenant_id, record, columns, doc, at)

    def bump(self, group_ids: Sequence[str], at: datetime) -> None:
        groups.bump(self.session, self.tenant_id, group_ids, at)

    def bumped(self, record, at: datetime):
        self.bump([record.id], at)
        return groups.Record.of(record, version=record.version + 1, last_modified=at)

    def delete(self, record) -> list[str]:
        return groups.delete_group(self.session, self.tenant_id, record)

    def add_members(self, group_id: str, members: Mapping[str, str | None]) -> list[str]:
        return groups.add_members(self.session, self.tenant_id, group_id, members)

    def remove_members(self, group_id: str, user_ids: Sequence[str] | None) -> list[str]:
        return groups.remove_members(self.session, self.tenant_id, group_id, user_ids)

    def replace_members(
        self, group_id: str, members: Mapping[str, str | None]
    ) -> tuple[list[str], list[str]]:
        return groups.replace_members(self.session, self.tenant_id, group_id, members)

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[dict]]:
        return groups.members_of(self.session, self.tenant_id, group_ids)

    def member_ids(self, group_id: str) -> list[str]:
        return groups.member_ids(self.session, self.tenant_id, group_id)

    def memberships(self, user_ids: Sequence[str]):
        return groups.memberships(self.session, self.tenant_id, user_ids)

    def member_counts(self, group_ids: Sequence[str]) -> dict[str, int]:
        return groups.member_counts(self.session, self.tenant_id, group_ids)

    def page(self, request: ListRequest):
        return run_list(self.session, self.tenant_id, GROUPS, request)


class SqlTokens(_Bound):
    def by_hash(self, digest: str, *, gated: bool = False):
        return tokens.by_hash(self.session, digest, self.tenant_id if gated else None)

    def insert(self, owner: str | None, digest: str, prefix: str, label: str, at: datetime) -> None:
        tokens.insert_token(self.session, owner, digest, prefix, label, at)

    def listed(self, owner: str | None) -> list:
        return tokens.list_tokens(self.session, owner)

    def live_matching(self, owner: str | None, key: str) -> list:
        return tokens.live_matching(self.session, owner, key)

    def revoke(self, token_id: int, at: datetime) -> None:
        tokens.mark_revoked(self.session, token_id, at)


class SqlRules(_Bound):
    def lock_with_rules(self, lock: plans.Lock) -> list:
        return plans.lock_with_rules(self.session, self.tenant_id, lock)

    def rows(self) -> list:
        return rules.rule_rows(self.session, self.tenant_id)

    def add(self, rule) -> None:
        rules.add_rule(self.session, rule)

    def delete(self, rule) -> None:
        rules.delete_rule(self.session, rule)

    def save(self, rows: list, at: datetime) -> None:
        rules.save(self.session, rows, at)

    def groups_found(
        self, display_names: Collection[str], external_ids: Collection[str]
    ) -> tuple[set[str], set[str]]:
        return rules.groups_found(self.session, self.tenant_id, display_names, external_ids)


class SqlAudit(_Bound):
    def append(self, values: dict[str, Any], *, tenant_id: str | None = None) -> None:
        audit.append(self.session, tenant_id or self.tenant_id, values)

    def entries(self, query: audit.Query) -> list:
        return audit.entries(self.session, self.tenant_id, query)

    def count(self, query: audit.Query) -> int:
        return audit.count(self.session, self.tenant_id, query)

    def user_keys(self, who: str) -> set[str]:
        return audit.user_keys(self.session, self.tenant_id, who)


class SqlDirectory(_Bound):
    def counts(self) -> tenants.DirectoryCounts:
        return tenants.counts(self.session, self.tenant_id)

    def clear(self) -> tenants.DirectoryCounts:
        return tenants.clear_directory(self.session, self.tenant_id)

    def purge(self) -> int:
        return tenants.purge(self.session, self.tenant_id)


class SqlStorage:
    """:class:`~scimsrv.storage.protocol.Storage` over ``session`` for ``tenant_id``."""

    def __init__(self, session: Session, tenant_id: str) -> None:
        self.users = SqlUsers(session, tenant_id)
        self.groups = SqlGroups(session, tenant_id)
        self.tokens = SqlTokens(session, tenant_id)
        self.rules = SqlRules(session, tenant_id)
        self.audit = SqlAudit(session, tenant_id)
        self.directory = SqlDirectory(session, tenant_id)
