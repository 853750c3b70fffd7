"""Check a tenant against a recomputation from scratch.

For every user: the plans its groups, roles and the rules ask for; the plans
it was granted (never more than asked); its links (exactly the modules of the
granted plans); its state (licensed when it got everything, pending with a
reason otherwise). For the tenant: no module over-assigned, every seat
counter equal to its links, the ledger replaying to the links, no link
without a SCIM user, no link held by a retired associate. Used by the tests,
the conformance scenarios and ``scimsrv tenant check``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensing_core.assignment import LicenseCatalog
from licensing_core.counting import seat_problems
from licensing_core.ledger import LedgerInconsistent, replay
from licensing_core.links import lock_user_licenses
from licensing_core.plans import Combination
from licensing_core.tables import (
    LICENSED,
    NO_PLAN,
    PENDING,
    Associate,
    AssociatePlan,
    LicenseAssocLink,
)
from scimsrv.provisioning.recompute import CHUNK, load_facts, load_rules
from scimsrv.provisioning.rules import requested_plans
from scimsrv.storage.tables import ScimUser


def check_tenant(session: Session, tenant_id: str) -> list[str]:
    """Every inconsistency found, as readable lines; an empty list means sound."""
    problems: list[str] = []
    catalog = LicenseCatalog(lock_user_licenses(session, tenant_id))
    rules = load_rules(session, tenant_id)
    links: dict[int, set[int]] = {}
    for module_id, assoc_id in session.execute(
        select(LicenseAssocLink.module_license_id, LicenseAssocLink.assoc_id).where(
            LicenseAssocLink.tenant_id == tenant_id
        )
    ):
        links.setdefault(assoc_id, set()).add(module_id)
    states = {
        row.associate_id: row
        for row in session.execute(
            select(AssociatePlan).where(AssociatePlan.tenant_id == tenant_id)
        ).scalars()
    }
    user_ids = list(
        session.execute(select(ScimUser.id).where(ScimUser.tenant_id == tenant_id)).scalars()
    )
    seen: set[int] = set()
    for start in range(0, len(user_ids), CHUNK):
        facts = load_facts(session, tenant_id, user_ids[start : start + CHUNK])
        for user_id, (assoc_id, retired, user) in facts.items():
            seen.add(assoc_id)
            problems += _check_user(
                user_id,
                retired,
                requested_plans(user, rules),
                states.get(assoc_id),
                links.get(assoc_id, set()),
                catalog,
            )
    for assoc_id in sorted(set(links) - seen):
        problems.append(f"associate {assoc_id} holds links but is no SCIM user")
    problems += seat_problems(session, tenant_id)
    problems += _retired_links(session, tenant_id)
    try:
        held = replay(session, tenant_id)
    except LedgerInconsistent as exc:
        problems.append(f"ledger: {exc}")
    else:
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
        if held != current:
            problems.append("ledger does not replay to the current links")
    return problems


def _check_user(user_id, retired, wanted, state, held, catalog) -> list[str]:
    who = f"user {user_id}"
    if retired and held:
        return [f"{who}: retired but holds {len(held)} links"]
    if state is None:
        return [] if wanted.is_empty and not held else [f"{who}: no plan state, wants {wanted}"]
    problems = []
    if state.requested != wanted.name:
        problems.append(f"{who}: requested {state.requested!r}, rules say {wanted.name!r}")
    granted = Combination.parse(state.granted) if state.granted else Combination.of(())
    if not granted.plans <= wanted.plans:
        problems.append(f"{who}: granted {granted} beyond {wanted}")
    expected = {m.id for plan in granted for m in catalog.required(plan)}
    if held != expected:
        problems.append(f"{who}: holds {sorted(held)}, plans {granted} need {sorted(expected)}")
    want_state = NO_PLAN if wanted.is_empty else LICENSED if granted == wanted else PENDING
    if state.state != want_state:
        problems.append(f"{who}: state {state.state}, expected {want_state}")
    if state.state == PENDING and not state.reason:
        problems.append(f"{who}: pending without a reason")
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
    return [f"{count} links held by retired associates"] if count else []
