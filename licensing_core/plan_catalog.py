"""The plan catalog as data: the six base plans with their features in the four
languages and the hidden licenses each implies, then the 26 valid
combinations in the order the help pages list them (docs/licensing.md §1).

What a plan implies is read from a license set: each plan row's ``set=``
list (:mod:`licensing_core.setinfo`). The catalog of the default set is the
one every tenant starts with; a tenant's own set may differ, and may be
unable to grant a plan at all (row missing, malformed or failing its
signature): that plan then carries the reason and implies nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from licensing_core.errors import LicensingError
from licensing_core.features import LANGUAGES, features
from licensing_core.license_set import load_default
from licensing_core.plans import BASE_PLANS, LISTED_COMBINATIONS, Combination, Plan

# The hidden licenses a license set's row for a plan implies, in its set= order;
# raises LicensingError when the set cannot grant the plan.
Implied = Callable[[Plan], Sequence[str]]


@dataclass(frozen=True)
class PlanEntry:
    """A base plan, the licenses it implies, and why it cannot be granted ("" if it can)."""

    plan: Plan
    licenses: tuple[str, ...]
    problem: str = ""


@dataclass(frozen=True)
class CombinationEntry:
    """A valid combination and every license its plans imply (first listed first)."""

    combination: Combination
    licenses: tuple[str, ...]
    problem: str = ""


@dataclass(frozen=True)
class PlanCatalog:
    """The six plans and 26 combinations as one license set defines them."""

    source: str
    plans: tuple[PlanEntry, ...]
    combinations: tuple[CombinationEntry, ...]

    def to_json(self, languages: Sequence[str] = LANGUAGES) -> dict[str, Any]:
        """``source``; ``languages``; ``plans``: ``name``, ``solution``,
        ``tier``, ``module`` (its modulelicense code name), ``licenses``
        (code names), ``problem`` (null when grantable), ``features`` by
        language; ``combinations``: ``name``, ``basePlans``, ``licenses``,
        ``problem``.

        :raises ValueError: an unknown language.
        """
        return {
            "source": self.source,
            "languages": list(languages),
            "plans": [
                {
                    "name": entry.plan.name,
                    "solution": entry.plan.solution.value,
                    "tier": entry.plan.tier.label,
                    "module": entry.plan.module_name,
                    "licenses": list(entry.licenses),
                    "problem": entry.problem or None,
                    "features": {lang: features(entry.plan, lang) for lang in languages},
                }
                for entry in self.plans
            ],
            "combinations": [
                {
                    "name": entry.combination.name,
                    "basePlans": [plan.name for plan in entry.combination],
                    "licenses": list(entry.licenses),
                    "problem": entry.problem or None,
                }
                for entry in self.combinations
            ],
        }


def plan_catalog(source: str, implied: Implied) -> PlanCatalog:
    """The catalog of the license set whose plan rows ``implied`` reads;
    ``source`` names that set for readers."""
    plans: dict[Plan, PlanEntry] = {}
    for plan in BASE_PLANS:
        try:
            plans[plan] = PlanEntry(plan, tuple(implied(plan)))
        except LicensingError as exc:
            plans[plan] = PlanEntry(plan, (), str(exc))
    combinations = []
    for combination in LISTED_COMBINATIONS:
        entries = [plans[plan] for plan in combination]
        licenses = dict.fromkeys(name for entry in entries for name in entry.licenses)
        problem = "; ".join(f"{e.plan.name}: {e.problem}" for e in entries if e.problem)
        combinations.append(CombinationEntry(combination, tuple(licenses), problem))
    return PlanCatalog(source, tuple(plans.values()), tuple(combinations))


def default_plan_catalog() -> PlanCatalog:
    """The catalog of the default license set (``data/default_license_set.json``)."""
    return plan_catalog("the default license set", load_default().implied)
