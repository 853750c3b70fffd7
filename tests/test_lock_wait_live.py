"""A write stuck behind a database lock must not stall the server, and must
give up after ``SCIMSRV_LOCK_TIMEOUT`` with a 503 the client can retry.

Against the real server (one worker, SQLite and PostgreSQL): the test holds a
write lock from its own connection; a group PATCH then waits for it. While it
waits, ``/healthz`` and a read answer 200; the PATCH itself answers 503 with
``Retry-After`` and a SCIM error while the lock is still held, and succeeds
once the lock is gone.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from licensing_core.db import normalize_url
from tests.live_server import SCIM_JSON, live_tenant, server_env, wait_request_read

TENANT = "lockwait"
LOCK_TIMEOUT = 2  # seconds: SCIMSRV_LOCK_TIMEOUT
ANSWER_WITHIN = 1.5  # seconds a request beside the waiting write may take
WRITE_BOUND = 20.0  # seconds the waiting write may take at most (10x the lock timeout)
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@contextmanager
def write_lock(database_url: str, group_id: str) -> Iterator[None]:
    """Hold a lock every write to the group waits for, from outside the server:
    SQLite's database write lock (``BEGIN IMMEDIATE``), PostgreSQL's row lock
    on the group. Released (rolled back) on the way out."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None, timeout=10)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            locked = conn.execute(
                text("SELECT 1 FROM scim_group WHERE scim_group_id = :id FOR UPDATE"),
                {"id": group_id},
            ).all()
            assert locked == [(1,)]
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


def wait_for_lock_waiter(database_url: str, limit: float = 10.0) -> None:
    """PostgreSQL: wait (bounded) until a backend of the database waits for a lock."""
    engine = create_engine(normalize_url(database_url), isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + limit
    try:
        with engine.connect() as conn:
            while not conn.execute(query).scalar_one():
                if time.monotonic() > deadline:
                    pytest.fail(f"no server write waited for the lock within {limit:.0f}s")
                time.sleep(0.02)
    finally:
        engine.dispose()


class Write:
    """One PATCH sent on its own connection; the answer awaited in a thread."""

    def __init__(self, port: int, path: str, token: str, body: dict[str, Any]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WRITE_BOUND + 30)
        self.conn.connect()
        self.client_port = self.conn.sock.getsockname()[1]
        self.request = (path, json.dumps(body), token)
        self.sent = threading.Event()
        self.done = threading.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.error: BaseException | None = None
        self.elapsed: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        assert self.sent.wait(30), "the write was not sent"

    def _run(self) -> None:
        path, body, token = self.request
        started = time.monotonic()
        try:
            self.conn.request(
                "PATCH",
                path,
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON},
            )
            self.sent.set()
            response = self.conn.getresponse()
            self.status = response.status
            self.headers = {k.lower(): v for k, v in response.getheaders()}
            self.body = response.read()
        except BaseException as exc:
            self.error = exc
        finally:
            self.elapsed = time.monotonic() - started
            self.sent.set()
            self.done.set()
            self.conn.close()

    def describe(self) -> str:
        if self.error is not None:
            return f"failed: {self.error!r}"
        return f"{self.status} {dict(self.headers)} {self.body[:300]!r}"


def timed_get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[httpx.Response | None, float]:
    """The answer (None if none came within ANSWER_WITHIN) and how long it took."""
    started = time.monotonic()
    try:
        response = httpx.get(url, headers=headers, timeout=ANSWER_WITHIN)
    except httpx.TimeoutException:
        response = None
    return response, time.monotonic() - started


def test_a_write_waiting_for_a_lock_stalls_nothing_and_gives_up_with_503(
    backend, fresh_database_url, tmp_path
):
    database_url = fresh_database_url(backend)
    env = {**server_env(database_url), "SCIMSRV_LOCK_TIMEOUT": str(LOCK_TIMEOUT)}
    with live_tenant(env, tmp_path, TENANT, workers=1) as live:
        created = live.scim.post("/Users", json={"userName": "waiter@lock.test"})
        assert created.status_code == 201, created.text
        user = created.json()["id"]
        created = live.scim.post("/Groups", json={"displayName": "Lock-Test"})
        assert created.status_code == 201, created.text
        group = created.json()["id"]
        path = f"/t/{TENANT}/scim/v2/Groups/{group}"
        add = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}],
        }
        auth = {"Authorization": f"Bearer {live.token}"}
        write = Write(live.port, path, live.token, add)
        try:
            with write_lock(database_url, group):
                write.start()
                # The server has the whole request: from here the PATCH is
                # waiting for the lock (PostgreSQL shows the waiting backend).
                wait_request_read(live.port, write.client_port)
                if backend == "postgres":
                    wait_for_lock_waiter(database_url)

                health, health_latency = timed_get(f"{live.root}/healthz")
                read, read_latency = timed_get(f"{live.root}/t/{TENANT}/scim/v2/Users/{user}", auth)
                still_waiting = not write.done.is_set()
                print(
                    f"[{backend}] while the write waited: /healthz "
                    f"{health.status_code if health else 'timed out'} in {health_latency:.3f}s, "
                    f"GET /Users/{{id}} {read.status_code if read else 'timed out'} "
                    f"in {read_latency:.3f}s; write still waiting: {still_waiting}"
                )
                assert health is not None, (
                    f"/healthz did not answer within {ANSWER_WITHIN}s while a write waited "
                    "for a database lock: the waiting write stalls the whole worker"
                )
                assert health.status_code == 200, health.text
                assert read is not None, (
                    f"GET /Users/{{id}} did not answer within {ANSWER_WITHIN}s while a write "
                    "waited for a database lock (a read needs no write lock)"
                )
                assert read.status_code == 200, read.text
                assert still_waiting, (
                    f"the write answered before the reads were done: {write.describe()}"
                )

                # Still holding the lock: the write must give up on its own.
                assert write.done.wait(WRITE_BOUND), (
                    f"the write did not answer within {WRITE_BOUND:.0f}s while the lock was "
                    f"held: SCIMSRV_LOCK_TIMEOUT={LOCK_TIMEOUT} is not honoured"
                )
        finally:
            # Out of write_lock, the lock is released: a write still waiting ends.
            if write.thread.is_alive():
                write.thread.join(60)
        assert write.done.is_set(), "the write never answered, even after the lock was released"
        print(f"[{backend}] the waiting write answered {write.status} after {write.elapsed:.3f}s")
        answered = write.describe()
        assert write.error is None, answered
        assert write.status == 503, f"want 503 while the lock is held, got {answered}"
        retry_after = write.headers.get("retry-after", "")
        assert retry_after.isdigit(), f"503 without a Retry-After in seconds: {answered}"
        assert write.headers.get("content-type", "").startswith(SCIM_JSON), answered
        error = json.loads(write.body)
        assert ERROR in error["schemas"], answered
        assert error["status"] == "503", answered

        # The lock is gone: the same write now succeeds.
        retried = live.scim.patch(f"/Groups/{group}", json=add)
        assert retried.status_code == 204, retried.text
        members = live.scim.get(f"/Groups/{group}").json().get("members", [])
        assert [member["value"] for member in members] == [user]
