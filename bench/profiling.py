"""Profile the load bench's requests in-process: where one request's time goes.

Seeds a database the way ``bench/load.py`` does (or reuses one seeded by an
earlier run with the same ``--url``), then sends requests through
``httpx.ASGITransport`` straight into the app, with no server and no network.
It prints the mean time per request and, on request, a cProfile of the
requests, every SQL statement with its time, or PostgreSQL's ``EXPLAIN
ANALYZE`` of each statement of one request.

    .venv/bin/python bench/profiling.py --database sqlite --users 20000 --what lookup --cprofile
    .venv/bin/python bench/profiling.py --database postgresql --users 20000 --what list --explain
    .venv/bin/python bench/profiling.py --url postgresql://postgres@127.0.0.1/scimsrv_prof \\
        --what list,lookup                        # seeds once, reused on later runs
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import seed  # noqa: E402
from bench.load import PATCH_OP, SCIM_JSON, TENANT, USER, database  # noqa: E402
from licensing_core.clock import utcnow  # noqa: E402
from licensing_core.db import Database  # noqa: E402
from licensing_core.tables import Tenant  # noqa: E402
from licensing_core.tenants import create_tenant  # noqa: E402
from scimsrv.http.app import create_app  # noqa: E402
from scimsrv.services import tokens  # noqa: E402
from scimsrv.services.transaction import LOCAL, Service  # noqa: E402
from scimsrv.settings import Settings  # noqa: E402
from scimsrv.storage import schema  # noqa: E402
from scimsrv.storage.tables import GroupMember, ScimGroup, ScimUser  # noqa: E402

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@contextmanager
def prepared(args: argparse.Namespace) -> Iterator[str]:
    if args.url:
        yield args.url
        return
    kind = "postgresql" if args.database.startswith("p") else "sqlite"
    with database(kind, args.pg_url) as url:
        yield url


def setup(db: Database, args: argparse.Namespace) -> tuple[str, list[str], list[str], str]:
    """(token, user ids by seed index, ids of users in no group, group id):
    seeded now, or found from an earlier run."""
    schema.upgrade(db.engine)
    with db.write() as session:
        fresh = session.get(Tenant, TENANT) is None
        if fresh:
            create_tenant(session, TENANT, "", at=utcnow())
    token = Service(db, Settings()).run(
        lambda tx: tokens.issue(tx, TENANT, "profile"), caller=LOCAL, tenant_id=TENANT
    )
    if fresh:
        started = time.perf_counter()
        seeded = seed.seed_users(db.engine, TENANT, args.users + args.spare).user_ids
        print(f"seeded {len(seeded)} users in {time.perf_counter() - started:.1f}s")
    with db.read() as session:
        rows = session.execute(
            select(ScimUser.user_name, ScimUser.id)
            .where(ScimUser.tenant_id == TENANT, ScimUser.user_name.like("Seed.User%"))
            .order_by(ScimUser.user_name)
        ).all()
        user_ids = [user_id for _name, user_id in rows]
        group_id = session.scalar(
            select(ScimGroup.id).where(
                ScimGroup.tenant_id == TENANT, ScimGroup.display_name == "profile group"
            )
        )
    if group_id is None:
        group_id = str(uuid.uuid4())
        with db.write() as session:
            now = utcnow()
            session.add(
                ScimGroup(
                    tenant_id=TENANT,
                    id=group_id,
                    display_name="profile group",
                    display_name_ci="profile group",
                    doc={},
                    version=1,
                    created=now,
                    last_modified=now,
                )
            )
        seed.seed_members(db.engine, TENANT, group_id, user_ids[: args.group])
    with db.read() as session:
        members = select(GroupMember.user_id).where(GroupMember.tenant_id == TENANT)
        spare_ids = list(
            session.scalars(
                select(ScimUser.id)
                .where(ScimUser.tenant_id == TENANT, ScimUser.id.not_in(members))
                .order_by(ScimUser.id)
            )
        )
    return token, user_ids, spare_ids, group_id


def requests(user_ids: list[str], spare_ids: list[str], group_id: str) -> dict[str, Request]:
    spare = iter(spare_ids)  # in no group: each member add adds one, as in load.py
    run, posted = uuid.uuid4().hex[:8], itertools.count()
    total = len(user_ids)

    async def lookup(c: httpx.AsyncClient, i: int) -> httpx.Response:
        name = seed.user_body(random.randrange(total))["userName"]
        return await c.get("/Users", params={"filter": f'userName eq "{name}"'})

    async def page(c: httpx.AsyncClient, i: int) -> httpx.Response:
        start = random.randrange(1, max(2, total - 100))
        return await c.get("/Users", params={"startIndex": start, "count": 100})

    async def get(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.get(f"/Users/{random.choice(user_ids)}")

    async def post(c: httpx.AsyncClient, i: int) -> httpx.Response:
        return await c.post(
            "/Users", json={"schemas": [USER], "userName": f"p-{run}-{next(posted)}@x.com"}
        )

    async def member_add(c: httpx.AsyncClient, i: int) -> httpx.Response:
        operation = {"op": "add", "path": "members", "value": [{"value": next(spare)}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return await c.patch(f"/Groups/{group_id}", json=body)

    return {"lookup": lookup, "list": page, "get": get, "post": post, "member-add": member_add}


class Statements:
    """Every statement the engine runs while ``on``: its SQL, parameters and time."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self.seen: list[tuple[str, Any, float]] = []
        self._started: dict[int, float] = {}

        @event.listens_for(db.engine, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            self._started[id(cursor)] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            started = self._started.pop(id(cursor), None)
            if self.on and started is not None:
                self.seen.append((statement, parameters, time.perf_counter() - started))


def explain(db: Database, seen: list[tuple[str, Any, float]]) -> None:
    """PostgreSQL's plan and timing of each SELECT, rolled back."""
    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection
        for statement, parameters, _elapsed in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            print("\n" + statement.strip())
            print(f"  -- {parameters}")
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print("  " + line)
        raw.rollback()
        connection.execute(text("SELECT 1"))


async def drive(app: Any, token: str, name: str, request: Request, count: int) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    transport = httpx.ASGITransport(app=app)
    base = f"http://testserver/t/{TENANT}/scim/v2"
    async with httpx.AsyncClient(transport=transport, base_url=base, headers=headers) as client:
        started = time.perf_counter()
        for i in range(count):
            response = await request(client, i)
            if response.status_code >= 300:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
        return (time.perf_counter() - started) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite or postgresql")
    parser.add_argument("--url", help="use (and seed, once) this database instead of a new one")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--group", type=int, default=5_000, help="members of the profile group")
    parser.add_argument("--spare", type=int, default=2_000, help="users in no group")
    parser.add_argument("--what", default="lookup,list,get,post,member-add")
    parser.add_argument("--requests", type=int, default=200, help="per kind of request")
    parser.add_argument("--cprofile", action="store_true", help="print the top of a cProfile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE them (PostgreSQL)")
    args = parser.parse_args()

    with prepared(args) as url:
        db = Database.from_url(url)
        try:
            token, user_ids, spare_ids, group_id = setup(db, args)
            app = create_app(db)
            statements = Statements(db)
            kinds = requests(user_ids, spare_ids, group_id)
            for name in args.what.split(","):
                request = kinds[name]
                asyncio.run(drive(app, token, name, request, 10))  # warm up
                profiler = cProfile.Profile() if args.cprofile else None
                if profiler:
                    profiler.enable()
                mean = asyncio.run(drive(app, token, name, request, args.requests))
                if profiler:
                    profiler.disable()
                print(f"{name:<12}{mean * 1000:8.2f} ms/request  ({args.requests} requests)")
                if profiler:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
                if args.sql or args.explain:
                    statements.seen.clear()
                    statements.on = True
                    asyncio.run(drive(app, token, name, request, 1))
                    statements.on = False
                    for statement, _parameters, elapsed in statements.seen:
                        print(f"  {elapsed * 1000:7.2f} ms  {' '.join(statement.split())[:300]}")
                    if args.explain and db.engine.dialect.name == "postgresql":
                        explain(db, statements.seen)
        finally:
            db.dispose()
        if args.url:
            print(f"(the seeded database stays at {url} for the next run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
