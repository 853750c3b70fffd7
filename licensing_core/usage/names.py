"""Plan bits and figure names: how a set of plans is encoded and what a name asks for.

A user's plans at an instant are a bit mask, one bit per base plan; a
combination is named from its mask. A figure is named by a plan, a
combination (``A + B``), ``users`` (every plan holder) or ``pending`` (the
users waiting for seats).
"""

from __future__ import annotations

from licensing_core.errors import InvalidCombination
from licensing_core.plans import BASE_PLANS, Combination, Plan, plan_named

# One bit per base plan: a user's combination at an instant is the sum of the
# bits of the plans it holds (it holds each plan at most once).
PLAN_BITS: dict[str, int] = {plan.module_name: 1 << i for i, plan in enumerate(BASE_PLANS)}
PLAN_OF_BIT: dict[int, Plan] = {1 << i: plan for i, plan in enumerate(BASE_PLANS)}

ALL_USERS = "users"
PENDING_USERS = "pending"


def combination_name(mask: int) -> str:
    plans = [plan for bit, plan in PLAN_OF_BIT.items() if mask & bit]
    try:
        return Combination.of(plans).name
    except InvalidCombination:  # cannot be assigned, but name what the ledger says
        return " + ".join(p.name for p in sorted(plans, key=lambda p: p.sort_key))


def explain_target(name: str) -> tuple[str, str]:
    """What ``--explain NAME`` asks for: ("plan" | "combination" | "users" | "pending", name).

    A name with ``+`` is a combination; ``users`` is every plan holder;
    ``pending`` the users waiting for seats; anything else must be a plan.
    """
    text = name.strip()
    if text.casefold() in (ALL_USERS, PENDING_USERS):
        return text.casefold(), text.casefold()
    if "+" in text:
        return "combination", Combination.parse(text).name
    return "plan", plan_named(text).name
