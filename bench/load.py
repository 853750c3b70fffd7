"""Load bench: scimsrv's hot SCIM requests against a bare Starlette ceiling, in one run.

For each database (SQLite file, fresh PostgreSQL database) it creates a
tenant with the CLI, bulk-seeds users and two big groups (bench/seed.py,
checked against a user the API creates), serves the app with
``scimsrv serve`` and measures, with keep-alive connections from a pool of
asyncio workers on loopback, every loop bounded in requests and in seconds:

* ceiling       GET /json on a bare Starlette app, same uvicorn settings
* POST /Users   new users
* lookup        GET /Users?filter=userName eq "..." (Entra's match)
* member add    PATCH one member into a group of 10k, and of 100k members;
                the median latency of the last 50 ops over the first 50
* list page     GET /Users?startIndex=N&count=100 (Okta import)

and prints req/s, median latency and the ratio to the ceiling next to the
goals, and after each database's measures the server's own /metrics per
route (bench/metrics_excerpt.py). Machines are shared and noisy: compare
ratios from one run only.

    .venv/bin/python bench/load.py                       # full: 100k users, ~5-8 min
    .venv/bin/python bench/load.py --users 5000 --big-group 4000 --small-group 1000 \\
        --seconds 2 --databases sqlite                   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import seed  # noqa: E402
from bench.metrics_excerpt import excerpt  # noqa: E402
from licensing_core.db import Database  # noqa: E402

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TENANT = "bench"
# (name, goal as a fraction of the ceiling)
GOALS = {"lookup": 0.50, "POST /Users": 0.35, "member add": 0.35, "list page": 0.10}
FLAT = 1.3  # member add: last-50 / first-50 median latency at most this

# One request of a measure: ``request(client, i)`` returns an error, or None.
Request = Callable[[httpx.AsyncClient, int], Awaitable[str | None]]


@dataclass
class Measure:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    def drift(self, n: int = 50) -> float | None:
        """Median latency of the last ``n`` ops over the first ``n``."""
        if len(self.latencies) < 2 * n:
            return None
        return statistics.median(self.latencies[-n:]) / statistics.median(self.latencies[:n])


async def drive(
    name: str,
    client: httpx.AsyncClient,
    request: Request,
    *,
    workers: int,
    max_requests: int,
    seconds: float,
) -> Measure:
    """Run ``request(client, i)`` for i = 0, 1, ... from ``workers`` tasks until
    ``max_requests`` were sent or ``seconds`` passed; it returns an error or None."""
    measure = Measure(name)
    counter = iter(range(max_requests))
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        for i in counter:
            if time.perf_counter() >= deadline or len(measure.errors) > 20:
                return
            sent = time.perf_counter()
            try:
                error = await request(client, i)
            except httpx.HTTPError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
            if error:
                measure.errors.append(error)
            else:
                measure.latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(worker() for _ in range(workers)))
    measure.elapsed = time.perf_counter() - start
    return measure


def expect(response: httpx.Response, status: int) -> str | None:
    """None if ``response`` has ``status``, else an error naming the request."""
    if response.status_code == status:
        return None
    request = response.request
    return f"{request.method} {request.url.path}: {response.status_code} {response.text[:200]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[str]:
    """A server process on 127.0.0.1:port until the block ends; waits for it to answer.

    Its stderr goes to a temporary file, not a pipe: a pipe nobody reads fills
    up with log lines and then blocks the server."""
    origin = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            _wait_answering(process, origin, stderr)
            yield origin
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_answering(process: subprocess.Popen, origin: str, stderr: IO[bytes]) -> None:
    for _attempt in range(150):  # ~30 s
        if process.poll() is not None:
            stderr.seek(0)
            raise RuntimeError(f"{process.args[0]} exited: {stderr.read().decode()[-500:]}")
        try:
            urllib.request.urlopen(origin + "/healthz", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (the ceiling has no /healthz)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{process.args} did not answer on {origin}")


def scimsrv_command(*args: str) -> list[str]:
    """``scimsrv ARGS`` running this checkout's code (not whatever is installed)."""
    return [sys.executable, "-c", "from scimsrv.cli.app import app; app()", *args]


def scimsrv_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        scimsrv_command(*args), env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    if done.returncode:
        raise RuntimeError(f"scimsrv {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def scimsrv_env(url: str, port: int) -> dict[str, str]:
    """The environment of ``scimsrv`` commands on database ``url``, serving on
    ``port``, without a rate limit."""
    env = {
        **os.environ,
        "SCIMSRV_DATABASE_URL": url,
        "PYTHONPATH": str(REPO),
        "SCIMSRV_PORT": str(port),
        "SCIMSRV_METRICS_TOKEN": uuid.uuid4().hex,
        # The bench measures the server, not the per-tenant rate limit (0: off),
        # which would refuse most of its requests by design.
        "SCIMSRV_RATE_LIMIT": "0",
    }
    for key in ("SCIMSRV_PUBLIC_URL", "SCIMSRV_WORKERS"):
        env.pop(key, None)
    return env


def create_tenant(env: dict[str, str], tenant: str = TENANT) -> tuple[str, str]:
    """Create ``tenant`` with the CLI: (its SCIM base URL, a bearer token)."""
    base = scimsrv_cli(env, "tenant", "create", tenant)
    return base, scimsrv_cli(env, "token", "issue", tenant)


def keep_alive_client(
    base_url: str, clients: int, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """An httpx client keeping up to ``clients`` connections alive."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30)


@contextmanager
def database(kind: str, pg_url: str) -> Iterator[str]:
    """A fresh database URL, dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="scimsrv-bench-") as directory:
            yield f"sqlite:///{directory}/scimsrv.db"
        return
    name = f"scimsrv_bench_{uuid.uuid4().hex[:12]}"
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settle(db: Database) -> None:
    """On PostgreSQL, VACUUM ANALYZE the bulk-seeded tables, as autovacuum does
    on a live database within minutes. Measured right after the bulk load, the
    planner would see the near-empty tables it last analysed and the visibility
    map would be empty: plans no running system gets (a page of 100 users took
    seconds, scanning a 100k-member group for each page)."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


@dataclass
class Sizes:
    users: int
    small_group: int
    big_group: int
    spare: int  # users in neither group, for member adds


def run_database(kind: str, args: argparse.Namespace) -> list[Measure]:
    sizes = Sizes(args.users, args.small_group, args.big_group, args.spare)
    with database(kind, args.pg_url) as url:
        port = free_port()
        env = scimsrv_env(url, port)
        base, token = create_tenant(env)
        db = Database.from_url(url)
        try:
            total = max(sizes.users, sizes.big_group) + sizes.spare
            started = time.perf_counter()
            seeded = seed.seed_users(db.engine, TENANT, total)
            print(f"  seeded {total} users in {time.perf_counter() - started:.1f}s", flush=True)
            serve = scimsrv_command("serve", "--port", str(port))
            with serving(serve, port, env) as origin:
                measures = asyncio.run(_measure_scim(db, base, token, seeded, sizes, args))
                Console().print(excerpt(origin, env["SCIMSRV_METRICS_TOKEN"]))
                return measures
        finally:
            db.dispose()


def lookup_request(total: int) -> Request:
    """GET /Users?filter=userName eq "..." of a random one of seeded users 0..total-1."""

    async def lookup(c: httpx.AsyncClient, i: int) -> str | None:
        name = seed.user_body(random.randrange(total))["userName"]
        response = await c.get("/Users", params={"filter": f'userName eq "{name}"'})
        error = expect(response, 200)
        if error is None and response.json()["totalResults"] != 1:
            error = f"lookup of {name}: totalResults {response.json()['totalResults']}"
        return error

    return lookup


def list_page_request(total: int) -> Request:
    """GET /Users?startIndex=N&count=100, N random among ``total`` users: a full page."""

    async def list_page(c: httpx.AsyncClient, i: int) -> str | None:
        start = random.randrange(1, max(2, total - 100))
        response = await c.get("/Users", params={"startIndex": start, "count": 100})
        error = expect(response, 200)
        if error is None and len(response.json()["Resources"]) != min(100, total - start + 1):
            error = f"page at {start}: {len(response.json()['Resources'])} resources"
        return error

    return list_page


def member_add_request(
    group_id: str, pool: Iterator[str], exhausted: str = "out of users to add"
) -> Request:
    """PATCH /Groups/{group_id} adding the next user of ``pool`` (in no group yet);
    the error ``exhausted`` once the pool is empty."""

    async def member_add(c: httpx.AsyncClient, i: int) -> str | None:
        user_id = next(pool, None)
        if user_id is None:
            return exhausted
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return expect(await c.patch(f"/Groups/{group_id}", json=body), 204)

    return member_add


def post_user_request(prefix: str, created: list[str] | None = None) -> Request:
    """POST /Users of a new user ``{prefix}-{i}@example.com``; the new ids go to ``created``."""

    async def post(c: httpx.AsyncClient, i: int) -> str | None:
        body = {"schemas": [USER], "userName": f"{prefix}-{i}@example.com"}
        response = await c.post("/Users", json=body)
        error = expect(response, 201)
        if error is None and created is not None:
            created.append(response.json()["id"])
        return error

    return post


async def _measure_scim(
    db: Database,
    base: str,
    token: str,
    seeded: seed.Seeded,
    sizes: Sizes,
    args: argparse.Namespace,
) -> list[Measure]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    bounded: dict[str, Any] = {
        "workers": args.workers,
        "max_requests": args.max_requests,
        "seconds": args.seconds,
    }
    total = len(seeded.user_ids)
    async with keep_alive_client(base, args.workers, headers) as client:

        def post_user(body: dict[str, Any]) -> str:
            response = httpx.post(f"{base}/Users", json=body, headers=headers, timeout=30)
            response.raise_for_status()
            return response.json()["id"]

        problems = await asyncio.to_thread(
            seed.check_seeded_like_api, db.engine, TENANT, seeded.user_ids[7], 7, post_user
        )
        if problems:
            raise RuntimeError("seeded rows differ from the API's:\n  " + "\n  ".join(problems))
        check = await client.get(f"/Users/{seeded.user_ids[7]}")
        if check.status_code != 200 or check.json()["userName"] != seed.user_body(7)["userName"]:
            raise RuntimeError(f"a seeded user does not read back: {check.text[:300]}")

        groups = {}
        for label, size in (("10k", sizes.small_group), ("100k", sizes.big_group)):
            response = await client.post(
                "/Groups", json={"schemas": [GROUP], "displayName": f"bench {label}"}
            )
            response.raise_for_status()
            groups[label] = response.json()["id"]
            seed.seed_members(db.engine, TENANT, groups[label], seeded.user_ids[:size])
        await asyncio.to_thread(settle, db)
        print("  seeded groups; measuring", flush=True)

        measures = [
            await drive("lookup", client, lookup_request(total), **bounded),
            await drive("list page", client, list_page_request(total), **bounded),
        ]
        spare = seeded.user_ids[max(sizes.users, sizes.big_group) :]
        for label in ("10k", "100k"):
            # Spare users are in neither group: each op adds a new member.
            member_add = member_add_request(
                groups[label], iter(spare), "out of spare users (raise --spare)"
            )
            measures.append(
                await drive(
                    f"member add {label}",
                    client,
                    member_add,
                    **{**bounded, "max_requests": min(args.max_requests, len(spare))},
                )
            )
        post = post_user_request(f"post-{uuid.uuid4().hex[:8]}")
        measures.append(await drive("POST /Users", client, post, **bounded))
    return measures


@contextmanager
def serving_ceiling() -> Iterator[str]:
    """The bare Starlette ceiling (bench/ceiling.py) on a free port: its origin."""
    port = free_port()
    command = [sys.executable, str(REPO / "bench" / "ceiling.py"), str(port)]
    with serving(command, port, dict(os.environ)) as origin:
        yield origin


async def ceiling_request(c: httpx.AsyncClient, i: int) -> str | None:
    """GET /json on the ceiling."""
    return expect(await c.get("/json"), 200)


async def drive_ceiling(origin: str, *, workers: int, max_requests: int, seconds: float) -> Measure:
    """The ceiling's rate with ``workers`` keep-alive clients."""
    async with keep_alive_client(origin, workers) as client:
        return await drive(
            "ceiling",
            client,
            ceiling_request,
            workers=workers,
            max_requests=max_requests,
            seconds=seconds,
        )


def measure_ceiling(args: argparse.Namespace) -> Measure:
    with serving_ceiling() as origin:
        return asyncio.run(
            drive_ceiling(
                origin,
                workers=args.workers,
                max_requests=args.max_requests,
                seconds=args.seconds,
            )
        )


def _goal(name: str) -> float | None:
    return next((goal for key, goal in GOALS.items() if name.startswith(key)), None)


def print_table(kind: str, ceiling: Measure, measures: list[Measure]) -> list[str]:
    """The figures of one database; returns the goals missed."""
    missed = []
    print(f"\n{kind}")
    header = f"{'measure':<16}{'requests':>9}{'req/s':>9}{'median ms':>11}{'x ceiling':>11}"
    print(header + f"{'goal':>7}{'last/first 50':>15}  verdict")
    for m in [ceiling, *measures]:
        ratio = m.rate / ceiling.rate if ceiling.rate else 0.0
        goal = _goal(m.name)
        drift = m.drift()
        verdict = []
        if m.errors:
            verdict.append(f"{len(m.errors)} errors: {m.errors[0]}")
        if goal is not None and ratio < goal:
            verdict.append("below goal")
        if m.name.startswith("member add"):
            if drift is None:
                verdict.append("too few ops for the flatness check")
            elif drift > FLAT:
                verdict.append(f"not flat (> {FLAT})")
        ok = "ok" if not verdict else "; ".join(verdict)
        if m is not ceiling and verdict:
            missed.append(f"{kind} {m.name}: {ok}")
        print(
            f"{m.name:<16}{len(m.latencies):>9}{m.rate:>9.0f}{m.median_ms:>11.2f}"
            f"{ratio:>11.2f}{(f'{goal:.2f}' if goal else '-'):>7}"
            f"{(f'{drift:.2f}' if drift is not None else '-'):>15}  "
            f"{ok if m is not ceiling else '(ceiling)'}"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="users to seed")
    parser.add_argument("--small-group", type=int, default=10_000, help="members of group 1")
    parser.add_argument("--big-group", type=int, default=100_000, help="members of group 2")
    parser.add_argument(
        "--spare", type=int, default=3_000, help="extra users in no group (member adds)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound per measure")
    parser.add_argument("--max-requests", type=int, default=5_000, help="count bound per measure")
    parser.add_argument("--workers", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "SCIMSRV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; the bench creates and drops its own database there",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    missed: list[str] = []
    results = []
    for kind in args.databases.split(","):
        # The ceiling right before each database's figures: the machine drifts.
        print(f"{kind}: ceiling (bare Starlette JSON, {args.workers} clients)", flush=True)
        ceiling = measure_ceiling(args)
        results.append((kind, ceiling, run_database(kind, args)))
    for kind, ceiling, measures in results:
        missed += print_table(kind, ceiling, measures)
    print(f"\nwhole run {time.perf_counter() - started:.0f}s")
    print("goals: all met" if not missed else "goals missed:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
