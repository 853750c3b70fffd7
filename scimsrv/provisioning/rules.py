"""Which plans a user should hold, from its groups, its roles and the tenant's rules.

Zero configuration: a group (or an Entra app role value) whose name is a plan
or a valid combination, case-insensitively (``Sales-Premium``,
``sales-essentials + service-premium``), grants it. On top, ordered rules
like the CRM vendor's identity manager:

* scope: all users / users in group G / users not in group G (G by
  displayName, case-insensitive, or by externalId) / users with or without
  an app role value;
* what it sets: a plan combination, or "no selection";
* mode: ``always`` applies whatever earlier rules set, ``if-not-set`` only
  when nothing is set yet.

Plans accumulate: the plans of every matching group name and ``always``
rule are merged, keeping the highest tier per solution, so a user matched
through several groups gets the union and multi-plan users arise naturally;
an ``always`` rule with "no selection" clears everything set before it. An
inactive user holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from licensing_core.errors import InvalidCombination
from licensing_core.plans import NO_SELECTION, Combination
from scimsrv.storage.tables import (
    ALWAYS,
    BY_EXTERNAL_ID,
    IF_NOT_SET,
    SCOPE_ALL,
    SCOPE_HAS_ROLE,
    SCOPE_IN_GROUP,
    SCOPE_NOT_HAS_ROLE,
    SCOPE_NOT_IN_GROUP,
    SCOPES,
)


@dataclass(frozen=True)
class UserFacts:
    """What rules look at: active flag, group names and externalIds, role values."""

    active: bool = True
    group_names: frozenset[str] = frozenset()  # casefolded displayNames
    group_external_ids: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()  # casefolded role values

    @classmethod
    def of(
        cls,
        active: bool = True,
        groups: Iterable[tuple[str, str | None]] = (),
        roles: Iterable[str] = (),
    ) -> UserFacts:
        pairs = list(groups)
        return cls(
            active=active,
            group_names=frozenset(name.casefold() for name, _ in pairs),
            group_external_ids=frozenset(ext for _, ext in pairs if ext),
            roles=frozenset(role.casefold() for role in roles),
        )


@dataclass(frozen=True)
class Rule:
    """A validated rule, ready to evaluate."""

    id: int
    position: int
    scope: str
    target: str
    target_by: str
    plans: Combination
    mode: str
    enabled: bool = True
    description: str = ""

    @classmethod
    def from_row(cls, row: Any) -> Rule:
        """From a plan_rule row (ORM or plain, same attribute names)."""
        return cls(
            id=row.id,
            position=row.position,
            scope=row.scope,
            target=row.target,
            target_by=row.target_by,
            plans=Combination.parse(row.plans) if row.plans else NO_SELECTION,
            mode=row.mode,
            enabled=row.enabled,
            description=row.description,
        )

    def matches(self, user: UserFacts) -> bool:
        if self.scope == SCOPE_ALL:
            return True
        if self.scope in (SCOPE_HAS_ROLE, SCOPE_NOT_HAS_ROLE):
            has = self.target.casefold() in user.roles
            return has if self.scope == SCOPE_HAS_ROLE else not has
        if self.target_by == BY_EXTERNAL_ID:
            member = self.target in user.group_external_ids
        else:
            member = self.target.casefold() in user.group_names
        return member if self.scope == SCOPE_IN_GROUP else not member

    def names_group(self, names: set[str], external_ids: set[str]) -> bool:
        """Whether this enabled rule's scope names one of these groups
        (casefolded displayNames, externalIds)."""
        return self.enabled and self.targets_group(names, external_ids)

    def targets_group(self, names: set[str], external_ids: set[str]) -> bool:
        """Whether this rule's scope names one of these groups, enabled or not."""
        if self.scope not in (SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP):
            return False
        if self.target_by == BY_EXTERNAL_ID:
            return self.target in external_ids
        return self.target.casefold() in names

    def describe(self) -> str:
        if self.scope == SCOPE_ALL:
            who = "all users"
        elif self.scope in (SCOPE_HAS_ROLE, SCOPE_NOT_HAS_ROLE):
            verb = "with" if self.scope == SCOPE_HAS_ROLE else "without"
            who = f"users {verb} role {self.target!r}"
        else:
            verb = "in" if self.scope == SCOPE_IN_GROUP else "not in"
            by = "" if self.target_by != BY_EXTERNAL_ID else " (externalId)"
            who = f"users {verb} group {self.target!r}{by}"
        return f"{who} -> {self.plans or 'no selection'} ({self.mode})"


def check_rule_fields(scope: str, target: str, plans: str, mode: str) -> Combination:
    """Validate a rule's fields; returns the parsed plans. Raises ValueError."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")
    if scope != SCOPE_ALL and not target:
        raise ValueError(f"scope {scope!r} needs a group or role")
    if mode not in (ALWAYS, IF_NOT_SET):
        raise ValueError(f"unknown mode {mode!r}; one of {ALWAYS}, {IF_NOT_SET}")
    return Combination.parse(plans) if plans else NO_SELECTION


def plans_named(name: str) -> Combination | None:
    """The combination a group or role name stands for, if it names one."""
    try:
        return Combination.parse(name)
    except InvalidCombination:
        return None


@dataclass(frozen=True)
class Step:
    """A group or role name (casefolded) that set plans, or a rule that set
    them or, with "no selection", cleared them."""

    plans: Combination
    name: str | None = None
    rule: Rule | None = None


@dataclass(frozen=True)
class Decision:
    """The plans a user should hold and every step that led there, in order."""

    plans: Combination
    steps: tuple[Step, ...] = ()


def decide(user: UserFacts, rules: Iterable[Rule]) -> Decision:
    """The plans ``user`` should hold under ``rules`` (in position order), and why."""
    if not user.active:
        return Decision(NO_SELECTION)
    result = NO_SELECTION
    steps: list[Step] = []
    for name in sorted(user.group_names | user.roles):
        named = plans_named(name)
        if named is not None:
            result = result.merge(named)
            steps.append(Step(named, name=name))
    for rule in sorted(rules, key=lambda r: r.position):
        if not rule.enabled or not rule.matches(user):
            continue
        if rule.mode == IF_NOT_SET and not result.is_empty:
            continue
        result = NO_SELECTION if rule.plans.is_empty else result.merge(rule.plans)
        steps.append(Step(rule.plans, rule=rule))
    return Decision(result, tuple(steps))


def requested_plans(user: UserFacts, rules: Iterable[Rule]) -> Combination:
    """The plans ``user`` should hold under ``rules`` (in position order)."""
    return decide(user, rules).plans
