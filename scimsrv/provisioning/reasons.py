"""Why a user holds the plans it does, or none, and what a group grants, in words.

Computed when a listing is read, from the same facts and rules a recompute
uses (:func:`scimsrv.provisioning.rules.decide`), never stored: the stored
plan state keeps only the reason a *pending* user waits (which plan, which
module has no free seat). A group or role name that is not a plan name
but comes close to one (:func:`difflib.get_close_matches`, ratio at least
:data:`CUTOFF`, case-insensitive, against the 26 valid combinations) gets a
"did you mean"; a name made only of plan names that breaks the rule of one
tier per solution says so. The wording and why the SCIM licensing extension
does not carry it: docs/reasons.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from licensing_core.errors import InvalidCombination
from licensing_core.plans import (
    LISTED_COMBINATIONS,
    NO_SELECTION,
    Combination,
    Plan,
    Solution,
    plan_named,
)
from licensing_core.tables import LICENSED, PENDING
from scimsrv.provisioning.rules import Decision, Rule, UserFacts, decide, plans_named
from scimsrv.storage.tables import ALWAYS, SCOPE_NOT_IN_GROUP

CUTOFF = 0.8
NOTHING = "no group, role or rule grants a plan"
DEACTIVATED = "deactivated"
_CANDIDATES = {c.name.casefold(): c.name for c in LISTED_COMBINATIONS}


@lru_cache(maxsize=4096)  # a pure function of the name; pages repeat group names
def name_problem(name: str) -> str | None:
    """Why ``name`` (a group displayName or role value) grants no plan although
    it looks like plans: ``"is not a plan name: did you mean 'Sales-Premium'?"``,
    ``"names two tiers of Sales"``, ``"lists Sales-Premium twice"``; None when
    it names plans or resembles none."""
    if plans_named(name) is not None:
        return None
    try:
        plans = [plan_named(part) for part in name.split("+")]
    except InvalidCombination:
        plans = []
    chosen: dict[Solution, Plan] = {}
    for plan in plans:
        other = chosen.setdefault(plan.solution, plan)
        if other != plan:
            return f"names two tiers of {plan.solution.value}"
        if plans.count(plan) > 1:
            return f"lists {plan.name} twice"
    close = difflib.get_close_matches(name.casefold(), _CANDIDATES, n=1, cutoff=CUTOFF)
    if close:
        return f"is not a plan name: did you mean '{_CANDIDATES[close[0]]}'?"
    return None


class _Names:
    """The user's group displayNames and role values as sent, by casefolded name."""

    def __init__(self, groups: Sequence[str], roles: Sequence[str]) -> None:
        self.labels: dict[str, str] = {}
        for kind, names in (("role", roles), ("group", groups)):
            for name in names:
                self.labels[name.casefold()] = f"{kind} '{name}'"
        self.groups = sorted(set(groups), key=str.casefold)
        self.roles = sorted(set(roles), key=str.casefold)

    def problems(self) -> list[str]:
        found = []
        for kind, names in (("group", self.groups), ("role", self.roles)):
            for name in names:
                problem = name_problem(name)
                if problem is not None:
                    found.append(f"{kind} '{name}' {problem}")
        return found


def user_reason(
    state: str,
    stored_reason: str,
    facts: UserFacts,
    groups: Sequence[str],
    roles: Sequence[str],
    rules: Sequence[Rule],
) -> str:
    """Why the user is in ``state``. ``groups`` and ``roles`` are the names
    ``facts`` were made from, as sent.

    * ``pending``: the stored reason (which plan waits for which module's seat);
    * ``licensed``: the groups, roles and rules its plans come through;
    * ``none``: ``deactivated``; the rule that clears the plans its groups
      grant; the group or role names that look like plans but are not (did
      you mean, two tiers); a matching rule that would grant plans but is
      disabled; else :data:`NOTHING`. When groups and rules do ask for plans
      (they changed after the plan state was read), it says which.
    """
    if state == PENDING:
        return stored_reason
    names = _Names(groups, roles)
    decision = decide(facts, rules)
    if state == LICENSED:
        return _through(decision, names)
    if not facts.active:
        return DEACTIVATED
    if not decision.plans.is_empty:
        return f"groups and rules ask for {decision.plans}: not applied yet"
    cleared = _last_clearing(decision)
    if cleared is not None:
        rule, plans = cleared
        return f"rule {rule.id} clears {plans}: {rule.describe()}"
    hints = names.problems()
    hints += [
        f"rule {rule.id} would grant {rule.plans} but is disabled"
        for rule in rules
        if not rule.enabled and not rule.plans.is_empty and rule.matches(facts)
    ]
    return "; ".join(hints) or NOTHING


def _last_clearing(decision: Decision) -> tuple[Rule, Combination] | None:
    """The last rule that cleared plans set before it, with what it cleared."""
    held, found = NO_SELECTION, None
    for step in decision.steps:
        if not step.plans.is_empty:
            held = held.merge(step.plans)
            continue
        if step.rule is not None and not held.is_empty:
            found = (step.rule, held)
        held = NO_SELECTION
    return found


def _through(decision: Decision, names: _Names) -> str:
    """``through group 'Sales-Premium' and rule 3``: the steps since the last clearing."""
    sources: list[str] = []
    for step in decision.steps:
        if step.plans.is_empty:
            sources = []
        elif step.rule is not None:
            sources.append(f"rule {step.rule.id}")
        elif step.name is not None:
            sources.append(names.labels.get(step.name, f"'{step.name}'"))
    if not sources:
        return ""
    listed = ", ".join(sources[:-1]) + " and " + sources[-1] if len(sources) > 1 else sources[0]
    return f"through {listed}"


@dataclass(frozen=True)
class Grant:
    """Plans a group gives its members, and through what: ``its name`` or ``rule N``."""

    plans: Combination
    through: str


@dataclass(frozen=True)
class GroupGrants:
    """What a group grants and, in words, why not or what else applies."""

    grants: tuple[Grant, ...]
    reason: str


def group_grants(name: str, external_id: str | None, rules: Sequence[Rule]) -> GroupGrants:
    """What the group called ``name`` grants its members: the plans its name
    names, and those of every enabled in-group rule naming it (by displayName
    or externalId). ``reason`` says why it grants none (not a plan name, did
    you mean, two tiers, no rule names it) and notes every other rule naming
    it: disabled, clearing its members' plans, or for users not in it."""
    grants: list[Grant] = []
    notes: list[str] = []
    named = plans_named(name)
    problem = None if named is not None else name_problem(name)
    if named is not None:
        grants.append(Grant(named, "its name"))
    elif problem is not None:
        notes.append(f"'{name}' {problem}")
    external_ids = {external_id} if external_id else set()
    mentioned = False
    for rule in rules:
        if not rule.targets_group({name.casefold()}, external_ids):
            continue
        mentioned = True
        if not rule.enabled:
            notes.append(f"rule {rule.id} names it but is disabled")
        elif rule.scope == SCOPE_NOT_IN_GROUP:
            notes.append(f"rule {rule.id} is for users not in it: {rule.describe()}")
        elif rule.plans.is_empty:
            verb = "clears the plans of its members" if rule.mode == ALWAYS else "changes nothing"
            notes.append(f"rule {rule.id} {verb}: {rule.describe()}")
        else:
            through = f"rule {rule.id}" + ("" if rule.mode == ALWAYS else " (if nothing is set)")
            grants.append(Grant(rule.plans, through))
    if named is None and problem is None:
        notes.insert(0, "not a plan name" + (": grants only through rules" if grants else ""))
    if not grants and not mentioned:
        notes.append("no rule names it")
    return GroupGrants(tuple(grants), "; ".join(notes))
