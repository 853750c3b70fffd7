"""What the rules as they stand in a transaction would change: which users would
change plan and, per module, the seats in use now and after against the seats
bought. Nothing is written; a rule edit previews before it recomputes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from licensing_core.catalog import load_catalog
from licensing_core.counting import user_license_seats
from licensing_core.holdings import read_holdings
from scimsrv.provisioning.recompute import CHUNK, requests, subjects
from scimsrv.provisioning.rules import Rule


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
    return Preview(changes, seats)
