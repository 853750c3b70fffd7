"""The only place that writes licenseassoclink rows and the ledger.

:class:`~licensing_core.plan_state.PlanBook` decides every grant and release
of a transaction first, in memory, under the tenant's plan lock; this module
then writes them in three statements whatever their number: delete the
released links, insert the granted ones, append the ledger rows (who held
the license recorded by value: associate id, userName and SCIM id).

Seats in use are never stored (:data:`licensing_core.counting.IN_USE`), so
there is no counter to move. New link and ledger rows are numbered per
tenant by the caller, under the plan lock that serialises every writer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from licensing_core.catalog import Module
from licensing_core.identities import Identity
from licensing_core.tables import GRANT, RELEASE, LedgerEntry, LicenseAssocLink

_link = LicenseAssocLink.__table__
_ledger = LedgerEntry.__table__

# One link occupies one seat (licenseNumber 1), as the CRM assigns them.
SEAT = 1

# (kind of row, how many) -> the first of that many new ids for the tenant.
Number = Callable[[str, int], int]
LINK = "link"
LEDGER = "ledger"


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
    number: Number,
    identities: Mapping[int, Identity],
) -> None:
    """Apply ``releases`` and ``grants`` (no (module, associate) pair in both).

    ``identities``: the holder of every associate involved (absent ones are
    recorded with an empty userName).
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
        first = number(LINK, len(grants))
        session.execute(
            insert(_link),
            [
                {
                    "LicenseAssocLink_id": first + i,
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
                for i, g in enumerate(grants)
            ],
        )
    events = [(RELEASE, r.module, r.assoc_id) for r in releases]
    events += [(GRANT, g.module, g.assoc_id) for g in grants]
    first = number(LEDGER, len(events))
    nobody = Identity("")
    session.execute(
        insert(_ledger),
        [
            {
                "ledger_id": first + i,
                "tenant_id": tenant_id,
                "at": at,
                "event": event,
                "moduleLicense_id": module.id,
                "moduleName": module.name,
                "is_plan": module.is_plan,
                "assoc_id": assoc_id,
                "licenseNumber": SEAT,
                "cause": cause[:64],
                "userName": identities.get(assoc_id, nobody).user_name,
                "scim_id": identities.get(assoc_id, nobody).scim_id,
            }
            for i, (event, module, assoc_id) in enumerate(events)
        ],
    )
