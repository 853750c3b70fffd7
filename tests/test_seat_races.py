"""The seat invariant under concurrent transactions: exactly the free number of
racing workers get the last seats, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from licensing_core.plans import Combination
from tests.licensing_helpers import add_associates, book, make_tenant, over_assigned

WORKERS = 10


def race(worker, count: int) -> list:
    barrier = threading.Barrier(count, timeout=60)

    def run(index: int):
        barrier.wait()
        return worker(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count), timeout=120))


def test_racing_assigners_take_exactly_the_free_seats(db, tenant_id):
    free = 3
    make_tenant(db, tenant_id, seats={"Sales-Premium": free})
    users = add_associates(db, tenant_id, WORKERS)
    plan = Combination.parse("Sales-Premium")

    def worker(index: int) -> bool:
        with db.write() as session:
            return book(session, tenant_id).apply({users[index]: plan})[users[index]].complete

    outcomes = race(worker, WORKERS)
    assert sum(outcomes) == free
    with db.read() as session:
        assert over_assigned(session, tenant_id) == []
