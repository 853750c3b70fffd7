"""Provisioning decisions: what a transaction decided about a user's plans (plans
before and after, the state, why), reported by the server only once that
transaction has committed (:attr:`scimsrv.services.transaction.Tx.decided`,
made from the outcomes its journal gathered: no query of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from licensing_core.identities import Identity
from licensing_core.plan_state import Outcome
from licensing_core.plans import NO_SELECTION, Combination, Plan


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
    before = Combination.parse(outcome.granted_before) if outcome.granted_before else NO_SELECTION
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
