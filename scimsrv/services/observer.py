"""What the use case runner reports as it works, for whoever watches the
server: the caller was admitted, the database failed (and how that was
handled), a transaction committed with its provisioning decisions.

:class:`~scimsrv.services.transaction.Service` calls an :class:`Observer`;
the HTTP app passes :class:`scimsrv.metrics.telemetry.Telemetry` (metrics
and log lines), the command line nobody (:data:`UNOBSERVED`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from scimsrv.services.transaction import Caller, Tx

# What became of a database failure: the transaction ran again, the caller
# was told "busy, retry later" (503), or it was not one to expect (a 500).
Handling = Literal["retried", "busy", "unexpected"]


class Observer(Protocol):
    def admitted(self, tx: Tx, caller: Caller) -> None:
        """``caller`` passed the token check for ``tx.tenant_id`` (the local
        operator always does); called inside the transaction."""

    def database_failed(self, error: BaseException, handling: Handling) -> None:
        """A transaction failed with ``error`` (a SQLAlchemy exception)."""

    def committed(self, tx: Tx) -> None:
        """``tx`` committed (a dry run never does): ``tx.decided`` stands."""


class Unobserved:
    """Reports go nowhere."""

    def admitted(self, tx: Tx, caller: Caller) -> None:
        pass

    def database_failed(self, error: BaseException, handling: Handling) -> None:
        pass

    def committed(self, tx: Tx) -> None:
        pass


UNOBSERVED: Observer = Unobserved()
