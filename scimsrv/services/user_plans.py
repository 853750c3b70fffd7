"""Who holds which plans, who is waiting and why: a page of a tenant's users with
their plan state, requested and granted plans, groups, roles and a reason.

Filters run in the database as SCIM filters on the licensing extension
(``state``, ``requestedPlans``), on the stored state; each user is shown as
its plans work now (a holder of a license row that fails verification is
shown pending with the reason, though a filter still finds it by its stored
state until the next reconcile releases the license). A page costs a fixed number of statements
whatever its size (the rules, the page, the plan states, the memberships).
The reason is computed as the page is read (:mod:`scimsrv.provisioning.reasons`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from licensing_core.holdings import PlanView
from licensing_core.plans import Combination
from licensing_core.tables import LICENSED, NO_PLAN, PENDING
from scimsrv.provisioning.reasons import user_reason
from scimsrv.provisioning.recompute import Subject, facts_of, role_values
from scimsrv.provisioning.rules import Rule
from scimsrv.scim.errors import ScimError
from scimsrv.scim.urns import LICENSING_SCHEMA
from scimsrv.services.users import working
from scimsrv.storage.listing import ListRequest, Page
from scimsrv.storage.plans import Lock

STATES = (LICENSED, PENDING, NO_PLAN)
SORT_BY = "userName"


@dataclass(frozen=True)
class UserPlans:
    """One user as the listing shows it."""

    id: str
    user_name: str
    display_name: str | None
    active: bool
    state: str
    requested: str
    granted: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The admin API's shape (``scimsrv users --format json`` prints the same):
        ``id``, ``userName``, ``displayName``, ``active``, ``state``,
        ``requestedPlans`` and ``planCombination`` (as the SCIM licensing
        extension names them; ``""`` for none), ``groups`` (displayNames),
        ``roles`` (values), ``reason``."""
        return {
            "id": self.id,
            "userName": self.user_name,
            "displayName": self.display_name,
            "active": self.active,
            "state": self.state,
            "requestedPlans": self.requested,
            "planCombination": self.granted,
            "groups": list(self.groups),
            "roles": list(self.roles),
            "reason": self.reason,
        }


def user_filter(state: str | None = None, plan: str | None = None) -> str | None:
    """The SCIM filter selecting users in ``state`` (licensed, pending, none)
    asking for ``plan``: a base plan matches every combination holding it
    (``Sales-Premium`` matches ``Sales-Premium + Service-Essentials``), a
    combination only itself. Granted plans are always among the requested
    ones, so holders and users waiting for the plan both match.

    :raises ScimError: 400 ``invalidValue`` for an unknown state.
    :raises InvalidCombination: ``plan`` is not a plan or valid combination.
    """
    clauses = []
    if state is not None:
        if state not in STATES:
            raise ScimError(
                400, f"unknown state {state!r}; one of {', '.join(STATES)}", "invalidValue"
            )
        clauses.append(f'{LICENSING_SCHEMA}:state eq "{state}"')
    if plan is not None:
        combination = Combination.parse(plan)
        operator = "co" if len(combination) == 1 else "eq"
        # Plan names hold no quote or backslash, and none contains another.
        clauses.append(f'{LICENSING_SCHEMA}:requestedPlans {operator} "{combination.name}"')
    return " and ".join(clauses) or None


def list_user_plans(
    tx, paging: ListRequest, *, state: str | None = None, plan: str | None = None
) -> Page[UserPlans]:
    """A page of the tenant's users by userName (``paging``: its startIndex,
    count and cursor), filtered as :func:`user_filter` says.

    :raises ScimError: 400 for a bad filter value, paging as
        :func:`scimsrv.storage.listing.run_list` raises.
    :raises InvalidCombination: ``plan`` is not a plan or valid combination.
    :raises UnknownTenant: no such tenant.
    """
    request = dataclasses.replace(paging, filter=user_filter(state, plan), sort_by=SORT_BY)
    rules = [Rule.from_row(row) for row in tx.storage.rules.lock_with_rules(Lock.NONE)]
    page = tx.storage.users.page(request)
    _, stored = tx.storage.users.extras(page.rows, groups=False)
    plans = working(tx, stored)
    memberships = tx.storage.groups.memberships([record.id for record in page.rows])
    rows = [
        _user_plans(record, plans[record.associate_id], memberships.get(record.id, []), rules)
        for record in page.rows
    ]
    return dataclasses.replace(page, rows=rows)


def _user_plans(
    record: Any, plan: PlanView, groups: list[tuple[str, str | None]], rules: list[Rule]
) -> UserPlans:
    roles = role_values(record.doc.get("roles"))
    subject = Subject(record.id, record.associate_id, record.active, roles, record.user_name)
    names = sorted((name for name, _ in groups), key=str.casefold)
    facts = facts_of(subject, groups)
    return UserPlans(
        id=record.id,
        user_name=record.user_name,
        display_name=record.display_name,
        active=facts.active,
        state=plan.state,
        requested=plan.requested,
        granted=plan.granted,
        groups=tuple(names),
        roles=tuple(roles),
        reason=user_reason(plan.state, plan.reason, facts, names, roles, rules),
    )
