"""Reading the append-only license ledger: replaying it to the links held at an instant.

:mod:`licensing_core.links` writes the ledger in the same transaction as each
link change; nothing ever updates or deletes a ledger row, so replaying it up
to any instant gives the same answer whenever it is run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensing_core.errors import LicensingError
from licensing_core.tables import GRANT, LedgerEntry

# (moduleLicense_id, assoc_id) -> licenseNumber held
Holdings = dict[tuple[int, int], int]


class LedgerInconsistent(LicensingError):
    """A ledger that grants a held link or releases one that is not held."""


def replay(session: Session, tenant_id: str, *, until: datetime | None = None) -> Holdings:
    """The links the tenant's associates held at ``until`` (default: now), from the ledger."""
    stmt = (
        select(
            LedgerEntry.id,
            LedgerEntry.event,
            LedgerEntry.module_license_id,
            LedgerEntry.assoc_id,
            LedgerEntry.license_number,
        )
        .where(LedgerEntry.tenant_id == tenant_id)
        .order_by(LedgerEntry.id)
    )
    if until is not None:
        stmt = stmt.where(LedgerEntry.at <= until)
    held: Holdings = {}
    for entry_id, event, module_id, assoc_id, number in session.execute(
        stmt.execution_options(yield_per=10_000)
    ):
        key = (module_id, assoc_id)
        if event == GRANT:
            if key in held:
                raise LedgerInconsistent(f"ledger row {entry_id} grants {key}, already held")
            held[key] = number
        else:
            if held.pop(key, None) is None:
                raise LedgerInconsistent(f"ledger row {entry_id} releases {key}, not held")
    return held
