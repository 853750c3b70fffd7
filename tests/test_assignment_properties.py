"""Random sequences of grant / revoke / retire: after every step the links equal a
recomputation from scratch of what the plan states record as granted (waiting
users served on the way included), no module is over-assigned, and the ledger
replays to the current links."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from licensing_core.holdings import read_holdings
from licensing_core.ledger import replay
from licensing_core.license_set import load_default
from licensing_core.plans import ALL_COMBINATIONS, NO_SELECTION, Combination
from licensing_core.tables import Associate, ModuleLicense
from tests.licensing_helpers import (
    NOW,
    add_associates,
    book,
    current_links,
    make_tenant,
    over_assigned,
)

USERS = 4
SPEC = load_default()

operations = st.lists(
    st.tuples(
        st.sampled_from(["grant", "revoke", "retire"]),
        st.integers(0, USERS - 1),
        st.sampled_from(ALL_COMBINATIONS),
    ),
    min_size=1,
    max_size=12,
)


def expected_links(session, tenant_id, granted: dict[int, object]) -> dict[tuple[int, int], int]:
    """Recompute from scratch: each associate holds its granted plans' modules once."""
    ids = {
        name: module_id
        for name, module_id in session.execute(
            ModuleLicense.__table__.select()
            .with_only_columns(ModuleLicense.module_name, ModuleLicense.id)
            .where(ModuleLicense.tenant_id == tenant_id)
        )
    }
    expected = {}
    for assoc_id, combination in granted.items():
        for plan in combination:
            for name in (plan.module_name, *SPEC.implied(plan)):
                expected[(ids[name], assoc_id)] = 1
    return expected


@settings(max_examples=25)
@given(ops=operations, seats=st.integers(1, 3))
def test_links_always_equal_recomputation_within_seats_and_ledger(db, ops, seats):
    tenant_id = f"p-{uuid.uuid4().hex[:10]}"
    make_tenant(db, tenant_id, seats=seats)
    users = add_associates(db, tenant_id, USERS)
    for step, (op, index, combination) in enumerate(ops):
        assoc_id = users[index]
        at = NOW + timedelta(minutes=step)
        with db.write() as session:
            wanted = combination if op == "grant" else NO_SELECTION
            result = book(session, tenant_id, at, cause=op).apply({assoc_id: wanted}).get(assoc_id)
            if result is not None:
                assert result.granted.plans <= wanted.plans
                for refusal in result.refused:
                    assert refusal.module_name is not None and "no free seat" in refusal.reason
            session.execute(
                update(Associate)
                .where(Associate.tenant_id == tenant_id, Associate.id == assoc_id)
                .values(deleted=(op == "retire"))
            )
        with db.read() as session:
            granted = {
                h.associate_id: Combination.parse(h.granted) if h.granted else NO_SELECTION
                for h in read_holdings(session, tenant_id, users).values()
            }
            links = current_links(session, tenant_id)
            assert links == expected_links(session, tenant_id, granted), f"after step {step}"
            assert over_assigned(session, tenant_id) == []
            assert replay(session, tenant_id) == links
