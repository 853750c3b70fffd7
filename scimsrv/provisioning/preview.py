"""What the rules as they stand in a transaction would change: which users would
change plan and, per module, the seats in use now and after against the seats
bought, and warnings about rules that cannot do what they say (a group no
group of the tenant has, a group or role on a rule for all users). Nothing
is written; a rule edit previews before it recomputes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from licensing_core.catalog import load_catalog
from licensing_core.counting import user_license_seats
from licensing_core.holdings import read_holdings
from scimsrv.provisioning.recompute import CHUNK, requests, subjects
from scimsrv.provisioning.rules import Rule
from scimsrv.storage.tables import BY_EXTERNAL_ID, SCOPE_ALL, SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP


@dataclass(frozen=True)
class PlanChange:
    user_id: str
    user_name: str
    before: str
    after: str


@dataclass(frozen=True)
class SeatImpact:
    module_name: str
    bought: int
    unrestricted: bool
    in_use: int
    after: int

    @property
    def short(self) -> int:
        """Seats missing after the change (users who would wait)."""
        return 0 if self.unrestricted else max(0, self.after - self.bought)


@dataclass(frozen=True)
class Preview:
    changes: list[PlanChange]
    seats: list[SeatImpact]
    warnings: list[str] = field(default_factory=list)


def preview(tx, rules: list[Rule]) -> Preview:
    """Compare what ``rules`` ask of every user with what each is recorded as asking."""
    catalog = load_catalog(tx.session, tx.tenant_id, tx.keyring)
    names = {m.id: m.name for m in catalog.modules}
    delta: Counter[str] = Counter()
    changes: list[PlanChange] = []
    after = ""
    while chunk := tx.storage.users.facts_after(after, CHUNK):
        people = subjects(chunk)
        wanted = requests(tx, people, rules)
        holdings = read_holdings(tx.session, tx.tenant_id, wanted)
        for person in people:
            want, holding = wanted[person.associate_id], holdings[person.associate_id]
            if want.name == holding.requested:
                continue
            changes.append(PlanChange(person.id, person.user_name, holding.requested, want.name))
            needed = {names[m] for m in catalog.modules_of(want)}
            held = {names[m] for m in holding.links if m in names}
            delta.update(needed - held)
            delta.subtract(held - needed)
        after = chunk[-1].id
    plans = {m.name for m in catalog.modules if m.is_plan}
    seats = [
        SeatImpact(s.module_name, s.bought, s.unrestricted, s.in_use, s.in_use + delta[name])
        for s in user_license_seats(tx.session, tx.tenant_id)
        if (name := s.module_name) in plans or delta[name]
    ]
    return Preview(changes, seats, rule_warnings(tx, rules))


def rule_warnings(tx, rules: list[Rule]) -> list[str]:
    """Enabled rules that cannot do what they say: one naming a group that no
    group of the tenant has (yet: identity providers may push it later), one
    for all users that names a group or role (ignored)."""
    enabled = [rule for rule in rules if rule.enabled]
    grouped = [rule for rule in enabled if rule.scope in (SCOPE_IN_GROUP, SCOPE_NOT_IN_GROUP)]
    names, external_ids = tx.storage.rules.groups_found(
        [r.target for r in grouped if r.target_by != BY_EXTERNAL_ID],
        [r.target for r in grouped if r.target_by == BY_EXTERNAL_ID],
    )
    warnings = []
    for rule in enabled:
        if rule.scope == SCOPE_ALL and rule.target:
            warnings.append(
                f"rule {rule.position} is for all users: {rule.target!r} is ignored "
                "(use scope has-role or in-group to match it)"
            )
        elif rule in grouped:
            by_id = rule.target_by == BY_EXTERNAL_ID
            if (rule.target if by_id else rule.target.casefold()) not in (
                external_ids if by_id else names
            ):
                what = "externalId" if by_id else "displayName"
                warnings.append(
                    f"rule {rule.position} names group {rule.target!r}, but no group of the "
                    f"tenant has that {what} (yet)"
                )
    return warnings
