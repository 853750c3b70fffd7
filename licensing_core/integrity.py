"""The license tables checked against themselves: links against the seats
bought (:func:`licensing_core.counting.seat_problems`), links held by retired
associates, links of associates the caller does not know, and the ledger
replaying to the current links (a link edited in the database shows here)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensing_core.counting import seat_problems
from licensing_core.ledger import LedgerInconsistent, replay
from licensing_core.plural import plural
from licensing_core.tables import Associate, LicenseAssocLink


def link_problems(session: Session, tenant_id: str, known: Iterable[int]) -> list[str]:
    """Every problem of the tenant's links, as readable lines; ``known``: the
    associates that may hold links (every other holder is a problem)."""
    problems = []
    linked = session.execute(
        select(LicenseAssocLink.assoc_id).where(LicenseAssocLink.tenant_id == tenant_id).distinct()
    ).scalars()
    for assoc_id in sorted(set(linked) - set(known)):
        problems.append(f"associate {assoc_id} holds links but is no SCIM user")
    problems += seat_problems(session, tenant_id)
    problems += _retired_links(session, tenant_id)
    problems += _ledger_problems(session, tenant_id)
    return problems


def _retired_links(session: Session, tenant_id: str) -> list[str]:
    count = session.execute(
        select(func.count())
        .select_from(LicenseAssocLink)
        .join(
            Associate,
            (Associate.tenant_id == LicenseAssocLink.tenant_id)
            & (Associate.id == LicenseAssocLink.assoc_id),
        )
        .where(LicenseAssocLink.tenant_id == tenant_id, Associate.deleted.is_(True))
    ).scalar_one()
    return [f"{plural(count, 'link')} held by retired associates"] if count else []


def _ledger_problems(session: Session, tenant_id: str) -> list[str]:
    try:
        held = replay(session, tenant_id)
    except LedgerInconsistent as exc:
        return [f"ledger: {exc}"]
    current = {
        (m, a): n
        for m, a, n in session.execute(
            select(
                LicenseAssocLink.module_license_id,
                LicenseAssocLink.assoc_id,
                LicenseAssocLink.license_number,
            ).where(LicenseAssocLink.tenant_id == tenant_id)
        )
    }
    return [] if held == current else ["ledger does not replay to the current links"]
