"""Provisioning decisions: what one evaluation of a user's plans decided (plans
before and after, the state, why), kept with the transaction that made it, so
that the server reports it only once that transaction has committed.

Every plan book a use case gets (:meth:`scimsrv.services.transaction.Tx.plan_book`)
is a :class:`DecisionBook`: each outcome :meth:`PlanBook.apply` returns
becomes a :class:`Decision` in the transaction's list. The plans before are
read off the outcome (granted now, minus the plan modules it added, plus
those it removed), so deciding costs no query; naming the users costs at
most one, shared with the ledger's (each plan is a modulelicense row of its
own: docs/licensing.md §1-2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from licensing_core.identities import Identify, Identity
from licensing_core.plan_state import Outcome, PlanBook
from licensing_core.plans import Combination, Plan, plan_for_module


@dataclass(frozen=True)
class Decision:
    """One user's plans as one evaluation left them.

    ``before`` and ``after`` are the plans granted before and after; ``state``
    is ``licensed``, ``pending`` (seats short: ``reason`` says which) or
    ``none``; ``user`` is the userName and ``scim_id`` the SCIM id (None for
    an associate SCIM does not know).
    """

    tenant_id: str
    associate_id: int
    user: str
    scim_id: str | None
    requested: Combination
    before: Combination
    after: Combination
    state: str
    reason: str

    @property
    def granted(self) -> list[Plan]:
        """Plans the user holds now and did not before, in display order."""
        return [plan for plan in self.after.ordered() if plan not in self.before.plans]

    @property
    def released(self) -> list[Plan]:
        """Plans the user held before and no longer does, in display order."""
        return [plan for plan in self.before.ordered() if plan not in self.after.plans]

    def fields(self) -> dict[str, Any]:
        """The decision as a log line's fields (plan combinations by name, "" for none)."""
        return {
            "tenant": self.tenant_id,
            "user": self.user,
            "scim_id": self.scim_id,
            "associate_id": self.associate_id,
            "requested": self.requested.name,
            "plans_before": self.before.name,
            "plans_after": self.after.name,
            "state": self.state,
            "reason": self.reason,
        }


def decision(tenant_id: str, outcome: Outcome, identity: Identity) -> Decision:
    """The decision an outcome of :meth:`PlanBook.apply` records."""
    added, removed = set(outcome.added), set(outcome.removed)
    kept = [plan for plan in outcome.granted.plans if plan.module_name not in added]
    dropped = [plan_for_module(name) for name in removed]
    before = Combination.of([*kept, *(plan for plan in dropped if plan is not None)])
    return Decision(
        tenant_id=tenant_id,
        associate_id=outcome.assoc_id,
        user=identity.user_name,
        scim_id=identity.scim_id,
        requested=outcome.requested,
        before=before,
        after=outcome.granted,
        state=outcome.state,
        reason=outcome.reason,
    )


class DecisionBook(PlanBook):
    """A :class:`PlanBook` that appends a :class:`Decision` to ``decided`` for
    every outcome it returns. Users are named once per book: the ledger's
    lookups and this one share a cache."""

    def __init__(self, *args: Any, decided: list[Decision], **options: Any) -> None:
        super().__init__(*args, **options)
        self.decided = decided
        self.identify = _remembering(self.identify)

    def apply(self, requests: Mapping[int, Combination], **options: Any) -> dict[int, Outcome]:
        outcomes = super().apply(requests, **options)
        if outcomes:
            identities = self.identify(sorted(outcomes))
            nobody = Identity("")
            self.decided.extend(
                decision(self.tenant_id, outcome, identities.get(assoc_id, nobody))
                for assoc_id, outcome in outcomes.items()
            )
        return outcomes


def _remembering(identify: Identify) -> Identify:
    """``identify``, asked only about associates it has not named yet."""
    known: dict[int, Identity] = {}

    def cached(associate_ids: Sequence[int]) -> Mapping[int, Identity]:
        missing = [i for i in associate_ids if i not in known]
        if missing:
            known.update(identify(missing))
        return {i: known[i] for i in associate_ids if i in known}

    return cached
