"""What the server records about its work: the service's observer
(:mod:`scimsrv.services.observer`) and the HTTP edge's requests, as metric
families (:mod:`scimsrv.metrics.families`) and one JSON log line per
provisioning decision (docs/observability.md).

Decisions are counted and logged once their transaction has committed, so
a retried or rolled-back attempt never shows. A ``tenant`` label names only
a tenant this process has seen exist (:attr:`Telemetry.tenants`): path
segments anyone can send never become label values.
"""

from __future__ import annotations

import logging

from licensing_core.tables import Tenant
from scimsrv.metrics.families import (
    DATABASE_FAILURES,
    DECISIONS,
    IN_PROGRESS,
    PLAN_GRANTS,
    PLAN_RELEASES,
    RATE_LIMITED,
    REQUEST_SECONDS,
    REQUESTS,
)
from scimsrv.services.observer import Handling
from scimsrv.services.transaction import Caller, Tx

log = logging.getLogger("scimsrv.provisioning")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Telemetry:
    """Records for one worker process. ``tenants``: the tenants this process
    has seen exist (a token of theirs passed, or an operator's request found
    the tenant row), at most every tenant there is."""

    def __init__(self) -> None:
        self.tenants: set[str] = set()

    def tenant_label(self, tenant: str | None) -> str:
        """``tenant`` when it is known to exist, else "" (no label)."""
        return tenant if tenant in self.tenants else ""

    # ---------------------------------------------------------- the observer

    def admitted(self, tx: Tx, caller: Caller) -> None:
        tenant = tx.tenant_id
        if not tenant or tenant in self.tenants:
            return
        if caller.owner == tenant or tx.session.get(Tenant, tenant) is not None:
            self.tenants.add(tenant)

    def database_failed(self, error: BaseException, handling: Handling) -> None:
        """Counted by the driver's error class (``DeadlockDetected``,
        ``SerializationFailure``, ``LockNotAvailable``, ...)."""
        cause = getattr(error, "orig", None) or error
        DATABASE_FAILURES.labels(type(cause).__name__, handling).inc()

    def committed(self, tx: Tx) -> None:
        for decision in tx.decided:
            fields = {**decision.fields(), "cause": tx.cause, "actor": tx.actor}
            log.info("provisioning decision", extra={"fields": fields})
            DECISIONS.labels(tx.tenant_id, decision.state).inc()
            for plan in decision.granted:
                PLAN_GRANTS.labels(tx.tenant_id, plan.name).inc()
            for plan in decision.released:
                PLAN_RELEASES.labels(tx.tenant_id, plan.name).inc()

    # ------------------------------------------------------------- the edge

    def request_started(self) -> None:
        IN_PROGRESS.inc()

    def request_finished(
        self, method: str, route: str, tenant: str | None, status: int, seconds: float
    ) -> None:
        """One answered request: ``route`` is its template, ``seconds`` its duration."""
        IN_PROGRESS.dec()
        method = method if method in METHODS else "other"
        REQUESTS.labels(self.tenant_label(tenant), method, route, str(status)).inc()
        REQUEST_SECONDS.labels(method, route).observe(seconds)

    def rate_limited(self, tenant: str) -> None:
        RATE_LIMITED.labels(self.tenant_label(tenant)).inc()
