"""Recompute the plans of exactly the users a change affects, in the change's transaction.

Every SCIM write that can change who should hold which plan (member add,
remove or replace; group create, rename or delete; user create, activate,
deactivate or delete; a rule change) tells a :class:`Provisioner` which users
it touched. The provisioner reads those users' facts (active flag, groups,
roles), evaluates the tenant's rules and hands the requests to the licensing
core's :class:`~licensing_core.plan_state.PlanBook`, which writes links and
ledger rows and queues users when seats are short.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.plan_state import PlanBook
from licensing_core.tables import Associate
from scimsrv.provisioning.rules import Rule, UserFacts, requested_plans
from scimsrv.storage.tables import GroupMember, PlanRule, ScimGroup, ScimUser

CHUNK = 500


def load_rules(session: Session, tenant_id: str) -> list[Rule]:
    rows = session.execute(
        select(PlanRule).where(PlanRule.tenant_id == tenant_id).order_by(PlanRule.position)
    ).scalars()
    return [Rule.from_row(row) for row in rows]


def _role_values(roles) -> list[str]:
    if not isinstance(roles, list):
        return []
    values = (role.get("value") if isinstance(role, dict) else role for role in roles)
    return [value for value in values if isinstance(value, str) and value]


def load_facts(
    session: Session, tenant_id: str, user_ids: list[str]
) -> dict[str, tuple[int, bool, UserFacts]]:
    """For each SCIM user id: (associate id, retired flag, facts)."""
    users = session.execute(
        select(
            ScimUser.id,
            ScimUser.associate_id,
            ScimUser.active,
            ScimUser.doc["roles"],
            Associate.deleted,
        )
        .join(
            Associate,
            (Associate.tenant_id == ScimUser.tenant_id) & (Associate.id == ScimUser.associate_id),
        )
        .where(ScimUser.tenant_id == tenant_id, ScimUser.id.in_(user_ids))
    ).all()
    groups: dict[str, list[tuple[str, str | None]]] = {}
    for user_id, name, external_id in session.execute(
        select(GroupMember.user_id, ScimGroup.display_name, ScimGroup.external_id)
        .join(
            ScimGroup,
            (ScimGroup.tenant_id == GroupMember.tenant_id) & (ScimGroup.id == GroupMember.group_id),
        )
        .where(GroupMember.tenant_id == tenant_id, GroupMember.user_id.in_(user_ids))
    ):
        groups.setdefault(user_id, []).append((name, external_id))
    return {
        user_id: (
            assoc_id,
            retired,
            # Only an explicit active=false deactivates; unassigned counts as active.
            UserFacts.of(active is not False, groups.get(user_id, ()), _role_values(roles)),
        )
        for user_id, assoc_id, active, roles, retired in users
    }


class Provisioner:
    """Collects the users a transaction touched and recomputes their plans."""

    def __init__(self, session: Session, tenant_id: str, *, at: datetime, cause: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.at = at
        self.book = PlanBook(session, tenant_id, at=at, cause=cause)
        self._rules: list[Rule] | None = None

    @property
    def rules(self) -> list[Rule]:
        if self._rules is None:
            self._rules = load_rules(self.session, self.tenant_id)
        return self._rules

    def users_changed(self, user_ids: Iterable[str]) -> None:
        """Recompute the plans of these SCIM users."""
        ids = sorted(set(user_ids))
        for start in range(0, len(ids), CHUNK):
            self._recompute(ids[start : start + CHUNK])

    def group_changed(self, group_id: str) -> None:
        """A group was created, renamed or is about to be deleted: its members."""
        self.users_changed(self._members(group_id))

    def all_users_changed(self) -> None:
        """The rules changed: every user of the tenant, a chunk at a time."""
        for chunk in self._all_user_chunks():
            self._recompute(chunk)

    def user_deleted(self, associate_id: int) -> None:
        """A user is about to be deleted: release its licenses first."""
        self.book.forget(associate_id)

    def finish(self) -> None:
        """Serve users waiting for seats if this transaction freed any."""
        self.book.finish()

    def _members(self, group_id: str) -> list[str]:
        return list(
            self.session.execute(
                select(GroupMember.user_id).where(
                    GroupMember.tenant_id == self.tenant_id, GroupMember.group_id == group_id
                )
            ).scalars()
        )

    def _all_user_chunks(self) -> Iterator[list[str]]:
        after = ""
        while True:
            chunk = list(
                self.session.execute(
                    select(ScimUser.id)
                    .where(ScimUser.tenant_id == self.tenant_id, ScimUser.id > after)
                    .order_by(ScimUser.id)
                    .limit(CHUNK)
                ).scalars()
            )
            if not chunk:
                return
            yield chunk
            after = chunk[-1]

    def _recompute(self, user_ids: list[str]) -> None:
        # The store keeps associate.deleted equal to "active is false"; an inactive
        # user's rules yield no selection, which releases everything it held.
        facts = load_facts(self.session, self.tenant_id, user_ids)
        self.book.request(
            {assoc_id: requested_plans(f, self.rules) for assoc_id, _, f in facts.values()}
        )
