"""Check a tenant against a recomputation from scratch.

Every license row that fails verification (each one, not the first). For every
user: the plans its groups, roles and the rules ask for; the plans
it was granted (never more than asked); its links (exactly the modules of
the granted plans); its state (licensed when it got everything, pending with
a reason otherwise that still holds, never pending while every plan it
waits for has free seats). For the tenant: no module over-assigned, the ledger replaying to
the links, no link without a SCIM user,
no link held by a retired associate. Used by the tests, the conformance
scenarios and ``scimsrv tenant check``.
"""

from __future__ import annotations

from licensing_core.catalog import LicenseCatalog, load_catalog
from licensing_core.counting import seats_in_use
from licensing_core.holdings import Holding, read_holdings
from licensing_core.integrity import link_problems
from licensing_core.plans import Combination
from licensing_core.plural import plural
from licensing_core.tables import LICENSED, NO_PLAN, PENDING
from scimsrv.provisioning.recompute import CHUNK, requests, subjects
from scimsrv.provisioning.rules import Rule
from scimsrv.storage.plans import Lock

# How the reasons that depend on seats or on the stop date begin
# (licensing_core.errors.SeatShortage, LicenseExpired): they hold as long as
# the set itself does not refuse the plan.
_SEAT_OR_STOP = ("no free seat", "license expired")


def check_tenant(tx) -> list[str]:
    """Every inconsistency found in ``tx.tenant_id``, as readable lines; empty means sound."""
    session, tenant_id = tx.session, tx.tenant_id
    rules = [Rule.from_row(r) for r in tx.storage.rules.lock_with_rules(Lock.NONE)]
    catalog = load_catalog(session, tenant_id, tx.keyring)
    in_use = seats_in_use(session, tenant_id, [m.id for m in catalog.modules])
    # Every license row that fails verification, each on its own line.
    verification = catalog.verification
    problems: list[str] = (
        [] if verification is None or verification.valid else (verification.messages())
    )
    seen: set[int] = set()
    after = ""
    while chunk := tx.storage.users.facts_after(after, CHUNK):
        people = subjects(chunk)
        wanted = requests(tx, people, rules)
        holdings = read_holdings(session, tenant_id, wanted)
        for person in people:
            seen.add(person.associate_id)
            problems += _check_user(
                f"user {person.id}",
                person.active is False,
                wanted[person.associate_id],
                holdings[person.associate_id],
                catalog,
                in_use,
                serving=catalog.read_only(tx.at) is None,
            )
        after = chunk[-1].id
    return problems + link_problems(session, tenant_id, seen)


def _check_user(
    who: str,
    retired: bool,
    wanted: Combination,
    holding: Holding,
    catalog: LicenseCatalog,
    in_use: dict[int, int],
    *,
    serving: bool,
) -> list[str]:
    held = set(holding.links)
    if retired and held:
        return [f"{who}: retired but holds {plural(len(held), 'link')}"]
    if not holding.stored:
        return [] if wanted.is_empty and not held else [f"{who}: no plan state, wants {wanted}"]
    problems = []
    if holding.requested != wanted.name:
        problems.append(f"{who}: requested {holding.requested!r}, rules say {wanted.name!r}")
    granted = Combination.parse(holding.granted) if holding.granted else Combination.of(())
    if not granted.plans <= wanted.plans:
        problems.append(f"{who}: granted {granted} beyond {wanted}")
    expected = catalog.modules_of(granted)
    if held != expected:
        problems.append(f"{who}: holds {sorted(held)}, plans {granted} need {sorted(expected)}")
    want_state = NO_PLAN if wanted.is_empty else LICENSED if granted == wanted else PENDING
    if holding.state != want_state:
        problems.append(f"{who}: state {holding.state}, expected {want_state}")
    if holding.state == PENDING:
        if not holding.reason:
            problems.append(f"{who}: pending without a reason")
        servable = [p for p in wanted if p not in granted and _fits(catalog, in_use, p, held)]
        if serving and servable:
            names = ", ".join(p.name for p in servable)
            problems.append(f"{who}: pending for {names}, which has free seats")
        problems += _stale_reasons(who, holding.reason, wanted, granted, catalog)
    return problems


def _stale_reasons(
    who: str, reason: str, wanted: Combination, granted: Combination, catalog: LicenseCatalog
) -> list[str]:
    """A pending user's stored reason, per plan it waits for, against why the
    plan cannot be granted now: the set's own refusal (unknown module,
    failing signature), or else the lack of seats or the stop date."""
    stored = dict(part.split(": ", 1) for part in reason.split("; ") if ": " in part)
    problems = []
    for plan in wanted:
        if plan in granted or plan.name not in stored:
            continue
        refusal = catalog.refusal(plan)
        says = stored[plan.name]
        holds = says == str(refusal) if refusal is not None else says.startswith(_SEAT_OR_STOP)
        if not holds:
            problems.append(
                f"{who}: pending for {plan.name} because {says!r}, which no longer holds"
            )
    return problems


def _fits(catalog: LicenseCatalog, in_use: dict[int, int], plan, held: set[int]) -> bool:
    """Whether ``plan`` could be granted now (every missing module has a free seat)."""
    required = catalog.try_required(plan)
    return required is not None and all(
        m.id in held or m.unrestricted or in_use.get(m.id, 0) < m.license_number for m in required
    )
