"""The plan catalog: solutions, tiers, the six base plans and their valid combinations.

A user holds at most one tier per solution; the non-empty sets that obey this
rule are exactly the 6 single plans and the 20 multi-plan combinations the
Norwegian, German and Dutch help pages list (26 in all, docs/licensing.md §1).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from licensing_core.errors import InvalidCombination


class Solution(enum.Enum):
    """A stand-alone solution; declaration order is the canonical display order."""

    SALES = "Sales"
    SERVICE = "Service"
    MARKETING = "Marketing"

    @property
    def rank(self) -> int:
        return _SOLUTION_ORDER.index(self)


_SOLUTION_ORDER = list(Solution)


class Tier(enum.IntEnum):
    """A tier within a solution; the higher value is the higher tier."""

    ESSENTIALS = 1
    PREMIUM = 2

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class Plan:
    """A base plan: one tier of one solution, named e.g. ``Sales-Premium``."""

    solution: Solution
    tier: Tier

    @property
    def name(self) -> str:
        return f"{self.solution.value}-{self.tier.label}"

    @property
    def module_name(self) -> str:
        """The code name of the plan's modulelicense row (``sales-premium``)."""
        return self.name.lower()

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.solution.rank, self.tier)

    def __str__(self) -> str:
        return self.name


BASE_PLANS: tuple[Plan, ...] = tuple(Plan(s, t) for s in Solution for t in Tier)
_BY_NAME: dict[str, Plan] = {p.name.casefold(): p for p in BASE_PLANS}
_BY_MODULE: dict[str, Plan] = {p.module_name: p for p in BASE_PLANS}


def plan_named(name: str) -> Plan:
    """The base plan called ``name`` (case-insensitive), or InvalidCombination."""
    plan = _BY_NAME.get(name.strip().casefold())
    if plan is None:
        known = ", ".join(p.name for p in BASE_PLANS)
        raise InvalidCombination(f"unknown plan {name.strip()!r}; the plans are {known}")
    return plan


def plan_for_module(module_name: str) -> Plan | None:
    """The base plan whose modulelicense row is called ``module_name``, if any."""
    return _BY_MODULE.get(module_name)


@dataclass(frozen=True)
class Combination:
    """A set of base plans with at most one tier per solution (possibly empty:
    "no selection")."""

    plans: frozenset[Plan]

    def __post_init__(self) -> None:
        by_solution: dict[Solution, Plan] = {}
        for plan in sorted(self.plans, key=lambda p: p.sort_key):
            other = by_solution.setdefault(plan.solution, plan)
            if other is not plan:
                raise InvalidCombination(
                    f"{other.name} and {plan.name} conflict: a combination holds at most "
                    f"one tier of {plan.solution.value}"
                )

    @classmethod
    def of(cls, plans: Iterable[Plan]) -> Combination:
        return cls(frozenset(plans))

    @classmethod
    def parse(cls, text: str) -> Combination:
        """Parse ``Sales-Premium + Service-Essentials`` (names case-insensitive)."""
        parts = [part.strip() for part in text.split("+")]
        if not text.strip():
            raise InvalidCombination("empty plan combination")
        if any(not part for part in parts):
            raise InvalidCombination(f"empty plan name in {text!r}")
        plans = [plan_named(part) for part in parts]
        seen: set[Plan] = set()
        for plan in plans:
            if plan in seen:
                raise InvalidCombination(f"{plan.name} is listed twice in {text!r}")
            seen.add(plan)
        return cls.of(plans)

    def ordered(self) -> list[Plan]:
        """The plans in canonical order: Sales, Service, Marketing."""
        return sorted(self.plans, key=lambda p: p.sort_key)

    @property
    def name(self) -> str:
        """Display name as the help pages write it; empty for "no selection"."""
        return " + ".join(p.name for p in self.ordered())

    @property
    def is_empty(self) -> bool:
        return not self.plans

    def merge(self, other: Combination) -> Combination:
        """Union of two plan sets, keeping the highest tier per solution."""
        best: dict[Solution, Plan] = {}
        for plan in itertools.chain(self.plans, other.plans):
            held = best.get(plan.solution)
            if held is None or plan.tier > held.tier:
                best[plan.solution] = plan
        return Combination.of(best.values())

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self.plans)

    def __str__(self) -> str:
        return self.name or "(no selection)"


NO_SELECTION = Combination(frozenset())


def _all_combinations() -> tuple[Combination, ...]:
    choices = [[None, *(Plan(s, t) for t in Tier)] for s in Solution]
    combos = [
        Combination.of(p for p in pick if p is not None) for pick in itertools.product(*choices)
    ]
    valid = [c for c in combos if not c.is_empty]
    return tuple(sorted(valid, key=lambda c: (len(c), [p.sort_key for p in c.ordered()])))


ALL_COMBINATIONS: tuple[Combination, ...] = _all_combinations()
"""The 26 valid combinations, singles first, then by size (the usage reports' order)."""

LISTED_COMBINATIONS: tuple[Combination, ...] = tuple(
    sorted(ALL_COMBINATIONS, key=lambda c: (len(c) > 1, [p.sort_key for p in c.ordered()]))
)
"""The 26 in the order the help pages list them (docs/licensing.md §1): the six
plans, then each multi-plan combination right after the shorter one it extends
(``Sales-Essentials + Service-Essentials``, then the same ``+ Marketing-...``)."""
