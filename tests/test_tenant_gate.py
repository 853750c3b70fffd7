"""The tenant gate on PostgreSQL: a change of the whole tenant (rule change,
license import, reconcile, deletion) waits only for the writes admitted
before it, and writes that arrive while it waits queue behind it, instead of
jumping ahead with a row lock compatible with the current holders (which
could make it wait for ever under a steady identity-provider load).

Driven step by step with three connections; each wait is observed in
``pg_stat_activity``, not assumed after a sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from licensing_core.db import Database
from licensing_core.tenants import lock_plans
from scimsrv.services import tokens
from scimsrv.services.transaction import LOCAL, Service
from scimsrv.settings import Settings
from scimsrv.storage import schema
from scimsrv.storage.sql import SqlStorage
from tests.licensing_helpers import make_tenant

TENANT = "gated"
WAIT_LIMIT = 30.0  # seconds any step may wait at most


@pytest.fixture
def postgres_db(fresh_database_url) -> Iterator[Database]:
    database = Database.from_url(fresh_database_url("postgres"), lock_timeout=WAIT_LIMIT)
    schema.upgrade(database.engine)
    yield database
    database.dispose()


def advisory_waiters(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
        ).scalar_one()


def until_waiters(db: Database, count: int) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while advisory_waiters(db) < count:
        assert time.monotonic() < deadline, f"fewer than {count} waiting at the gate"
        time.sleep(0.02)


def test_a_whole_tenant_change_waits_for_admitted_writes_and_later_ones_queue_behind(postgres_db):
    db = postgres_db
    make_tenant(db, TENANT)
    secret = Service(db, Settings()).run(
        lambda tx: tokens.issue(tx, TENANT, "idp"), caller=LOCAL, tenant_id=TENANT
    )
    order: list[str] = []
    admitted, release = threading.Event(), threading.Event()

    def scim_write(name: str, hold: threading.Event | None) -> None:
        with db.write() as session:
            assert tokens.authenticate(SqlStorage(session, TENANT), TENANT, secret, write=True)
            # What inserting a user does to the tenant row (its foreign key).
            session.execute(
                text("SELECT 1 FROM tenant WHERE tenant_id = :t FOR KEY SHARE"), {"t": TENANT}
            )
            order.append(name)
            if hold is not None:
                admitted.set()
                assert hold.wait(WAIT_LIMIT)

    def whole_tenant_change() -> None:
        with db.write() as session:
            lock_plans(session, TENANT, exclusive=True)
            order.append("whole tenant")

    threads = [threading.Thread(target=scim_write, args=("admitted", release))]
    threads[0].start()
    assert admitted.wait(WAIT_LIMIT)
    threads.append(threading.Thread(target=whole_tenant_change))
    threads[1].start()
    until_waiters(db, 1)
    threads.append(threading.Thread(target=scim_write, args=("later", None)))
    threads[2].start()
    # The later write waits at the gate although its row lock would be granted.
    until_waiters(db, 2)
    assert order == ["admitted"]
    release.set()
    for thread in threads:
        thread.join(WAIT_LIMIT)
        assert not thread.is_alive()
    assert order == ["admitted", "whole tenant", "later"]


def gates_held(session) -> int:
    """How many advisory locks this transaction holds (0 on SQLite: it has none)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return session.execute(
        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
    ).scalar_one()


def test_only_writes_with_a_tenant_token_enter_the_gate(db, tenant_id):
    make_tenant(db, tenant_id)
    secret = Service(db, Settings()).run(
        lambda tx: tokens.issue(tx, tenant_id, "idp"), caller=LOCAL, tenant_id=tenant_id
    )
    postgres = db.engine.dialect.name == "postgresql"
    for write, held in ((False, 0), (True, 1 if postgres else 0)):
        with db.write() as session:
            storage = SqlStorage(session, tenant_id)
            assert (
                tokens.authenticate(storage, tenant_id, secret, write=write)
                == "token " + (secret[: tokens.PREFIX_LENGTH]) + " (idp)"
            )
            assert gates_held(session) == held
            # A token that does not pass enters nothing either.
            assert tokens.authenticate(storage, tenant_id, "scimsrv_wrong", write=write) is None
            assert gates_held(session) == held
