"""Which plans each group grants its members, or why none: a page of a tenant's
groups with their member counts, the plans their names and the rules naming
them grant, and a reason (:func:`scimsrv.provisioning.reasons.group_grants`).
A page costs a fixed number of statements whatever its size."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from scimsrv.provisioning.reasons import Grant, group_grants
from scimsrv.provisioning.rules import Rule
from scimsrv.storage.listing import ListRequest, Page
from scimsrv.storage.plans import Lock

SORT_BY = "displayName"


@dataclass(frozen=True)
class GroupPlans:
    """One group as the listing shows it."""

    id: str
    display_name: str
    external_id: str | None
    members: int
    grants: tuple[Grant, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The admin API's shape (``scimsrv groups --format json`` prints the
        same): ``id``, ``displayName``, ``externalId``, ``members`` (a count),
        ``grants`` (``plans`` and ``through``: ``its name`` or ``rule N``),
        ``reason``."""
        return {
            "id": self.id,
            "displayName": self.display_name,
            "externalId": self.external_id,
            "members": self.members,
            "grants": [{"plans": g.plans.name, "through": g.through} for g in self.grants],
            "reason": self.reason,
        }


def list_group_plans(tx, paging: ListRequest) -> Page[GroupPlans]:
    """A page of the tenant's groups by displayName (``paging``: its
    startIndex, count and cursor).

    :raises UnknownTenant: no such tenant.
    """
    rules = [Rule.from_row(row) for row in tx.storage.rules.lock_with_rules(Lock.NONE)]
    page = tx.storage.groups.page(dataclasses.replace(paging, sort_by=SORT_BY))
    counts = tx.storage.groups.member_counts([record.id for record in page.rows])
    rows = []
    for record in page.rows:
        granted = group_grants(record.display_name, record.external_id, rules)
        rows.append(
            GroupPlans(
                id=record.id,
                display_name=record.display_name,
                external_id=record.external_id,
                members=counts[record.id],
                grants=granted.grants,
                reason=granted.reason,
            )
        )
    return dataclasses.replace(page, rows=rows)
