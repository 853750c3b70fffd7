"""The only place that writes licenseassoclink rows, the seat counters and the ledger.

:class:`~licensing_core.plan_state.PlanBook` decides every grant and release
of a transaction first, in memory, under the tenant's plan lock; this module
then writes them in four statements whatever their number: delete the
released links, insert the granted ones, move each module's ``inUse`` by
its net change, append the ledger rows.

The counter update keeps its guard (``... WHERE unrestricted OR inUse +
delta <= licenseNumber``) and the table its CHECK constraint, so even a
caller that skipped the plan lock could not over-assign: the update would
touch fewer rows than asked and :class:`SeatShortage` rolls it all back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, insert, or_, update
from sqlalchemy.orm import Session

from licensing_core.catalog import Module
from licensing_core.errors import SeatShortage
from licensing_core.tables import GRANT, RELEASE, LedgerEntry, LicenseAssocLink, ModuleLicense

_module = ModuleLicense.__table__
_link = LicenseAssocLink.__table__
_ledger = LedgerEntry.__table__

# One link occupies one seat (licenseNumber 1), as the CRM assigns them.
SEAT = 1


@dataclass(frozen=True)
class Grant:
    module: Module
    assoc_id: int


@dataclass(frozen=True)
class Release:
    module: Module
    assoc_id: int
    link_id: int


def write(
    session: Session,
    tenant_id: str,
    releases: Sequence[Release],
    grants: Sequence[Grant],
    *,
    at: datetime,
    cause: str,
) -> None:
    """Apply ``releases`` and ``grants`` (no (module, associate) pair in both).

    :raises SeatShortage: a module's counter would pass its seats (only when
        the caller did not hold the plan lock, or a counter was edited).
    """
    if not releases and not grants:
        return
    if releases:
        session.execute(
            delete(_link).where(
                _link.c.tenant_id == tenant_id,
                _link.c.LicenseAssocLink_id.in_(sorted(r.link_id for r in releases)),
            )
        )
    if grants:
        session.execute(
            insert(_link),
            [
                {
                    "tenant_id": tenant_id,
                    "moduleLicense_id": g.module.id,
                    "assoc_id": g.assoc_id,
                    "licenseNumber": SEAT,
                    "validFrom": at,
                    "comment": cause[:255],
                    "registered": at,
                    "registered_associate_id": 0,
                    "updated_associate_id": 0,
                    "updatedCount": 0,
                }
                for g in grants
            ],
        )
    _move_counters(session, tenant_id, releases, grants)
    session.execute(
        insert(_ledger),
        [_ledger_row(RELEASE, tenant_id, r.module, r.assoc_id, at, cause) for r in releases]
        + [_ledger_row(GRANT, tenant_id, g.module, g.assoc_id, at, cause) for g in grants],
    )


def _move_counters(
    session: Session, tenant_id: str, releases: Sequence[Release], grants: Sequence[Grant]
) -> None:
    delta: Counter[int] = Counter()
    modules: dict[int, Module] = {}
    for r in releases:
        delta[r.module.id] -= SEAT
        modules[r.module.id] = r.module
    for g in grants:
        delta[g.module.id] += SEAT
        modules[g.module.id] = g.module
    moved = {module_id: n for module_id, n in delta.items() if n}
    if not moved:
        return
    change = case(moved, value=_module.c.moduleLicense_id)
    result = session.execute(
        update(_module)
        .where(
            _module.c.tenant_id == tenant_id,
            _module.c.moduleLicense_id.in_(sorted(moved)),
            or_(_module.c.unrestricted, _module.c.inUse + change <= _module.c.licenseNumber),
        )
        .values(inUse=_module.c.inUse + change)
    )
    if result.rowcount != len(moved):
        short = next(modules[m] for m in sorted(moved) if moved[m] > 0)
        raise SeatShortage(short.name, moved[short.id], short.free or 0)


def _ledger_row(
    event: str, tenant_id: str, module: Module, assoc_id: int, at: datetime, cause: str
) -> dict:
    return {
        "tenant_id": tenant_id,
        "at": at,
        "event": event,
        "moduleLicense_id": module.id,
        "moduleName": module.name,
        "is_plan": module.is_plan,
        "assoc_id": assoc_id,
        "licenseNumber": SEAT,
        "cause": cause[:64],
    }
