"""Requested versus granted plans per associate, and the queue of users waiting for seats.

The directory is the source of truth: when it asks for plans that have no
free seat, the request is recorded and the associate is marked *pending* with
the reason, instead of the write failing. Whenever seats free up, pending
associates are served first waiting, first served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from licensing_core.assignment import Assigner, AssignmentResult
from licensing_core.plans import NO_SELECTION, Combination
from licensing_core.tables import LICENSED, NO_PLAN, PENDING, AssociatePlan, PlanStateLog


class PlanBook:
    """Records and serves plan requests of one tenant within the caller's transaction.

    The tenant's user licenses are locked (through :class:`Assigner`) only
    when some associate's links must actually change.
    """

    def __init__(self, session: Session, tenant_id: str, *, at: datetime, cause: str) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.at = at
        self.cause = cause
        self._assigner: Assigner | None = None
        self.seats_freed = False

    @property
    def assigner(self) -> Assigner:
        if self._assigner is None:
            self._assigner = Assigner(self.session, self.tenant_id, at=self.at, cause=self.cause)
        return self._assigner

    def states(self, assoc_ids: Iterable[int]) -> dict[int, AssociatePlan]:
        ids = list(assoc_ids)
        rows = self.session.execute(
            select(AssociatePlan).where(
                AssociatePlan.tenant_id == self.tenant_id, AssociatePlan.associate_id.in_(ids)
            )
        ).scalars()
        return {row.associate_id: row for row in rows}

    def request(self, requests: Mapping[int, Combination]) -> dict[int, AssignmentResult]:
        """Ask for ``requests`` (associate -> plans); unchanged requests cost one read."""
        results: dict[int, AssignmentResult] = {}
        states = {}
        for chunk in _chunks(sorted(requests)):
            states.update(self.states(chunk))
        for assoc_id in sorted(requests):
            wanted = requests[assoc_id]
            state = states.get(assoc_id)
            if state is not None and state.requested == wanted.name:
                continue  # licensed already, or waiting in the queue for its turn
            if state is None and wanted.is_empty:
                self._save(None, assoc_id, wanted, None)
                continue
            result = self.assigner.assign(assoc_id, wanted)
            self._save(state, assoc_id, wanted, result)
            results[assoc_id] = result
        return results

    def serve_pending(self) -> dict[int, AssignmentResult]:
        """Grant waiting associates, oldest first, as far as seats allow."""
        waiting = self.session.execute(
            select(AssociatePlan)
            .where(AssociatePlan.tenant_id == self.tenant_id, AssociatePlan.state == PENDING)
            .order_by(AssociatePlan.pending_since, AssociatePlan.associate_id)
        ).scalars()
        results = {}
        for state in list(waiting):
            result = self.assigner.assign(state.associate_id, Combination.parse(state.requested))
            self._save(state, state.associate_id, result.requested, result)
            results[state.associate_id] = result
        return results

    def finish(self) -> dict[int, AssignmentResult]:
        """Serve the queue if seats were freed since the last call; call after each change."""
        if not self.seats_freed:
            return {}
        self.seats_freed = False
        return self.serve_pending()

    def forget(self, assoc_id: int) -> None:
        """Release everything of an associate about to be deleted and drop its state."""
        state = self.states([assoc_id]).get(assoc_id)
        # Links are only ever written through this book, so no grant means no link.
        if state is not None and state.granted:
            self.seats_freed |= self.assigner.release_all(assoc_id).changed
        if state is not None and state.state != NO_PLAN:
            self._log(assoc_id, NO_PLAN, "", "deleted")
        self.session.execute(
            delete(AssociatePlan).where(
                AssociatePlan.tenant_id == self.tenant_id, AssociatePlan.associate_id == assoc_id
            )
        )

    def _save(
        self,
        state: AssociatePlan | None,
        assoc_id: int,
        wanted: Combination,
        result: AssignmentResult | None,
    ) -> None:
        if result is not None and result.removed:
            self.seats_freed = True
        granted = result.granted if result is not None else NO_SELECTION
        if result is not None and result.refused:
            status = PENDING
            reason = "; ".join(f"{r.plan.name}: {r.reason}" for r in result.refused)
        else:
            status = NO_PLAN if wanted.is_empty else LICENSED
            reason = ""
        if state is None:
            state = AssociatePlan(tenant_id=self.tenant_id, associate_id=assoc_id)
            self.session.add(state)
        before = (state.state or NO_PLAN, state.requested or "", state.reason or "")
        if status == PENDING and state.state != PENDING:
            state.pending_since = self.at
        elif status != PENDING:
            state.pending_since = None
        state.requested = wanted.name
        state.granted = granted.name
        state.state = status
        state.reason = reason[:255]
        state.updated = self.at
        if before != (state.state, state.requested, state.reason):
            self._log(assoc_id, status, wanted.name, reason)

    def _log(self, assoc_id: int, status: str, requested: str, reason: str) -> None:
        # Appended, never updated: usage reports replay it for past periods.
        self.session.execute(
            insert(PlanStateLog.__table__),
            [
                {
                    "tenant_id": self.tenant_id,
                    "at": self.at,
                    "associate_id": assoc_id,
                    "state": status,
                    "requested": requested,
                    "reason": reason[:255],
                }
            ],
        )


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start : start + size]
