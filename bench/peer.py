"""Peer bench: scimsrv against the reference Python SCIM server, same requests, one run.

Targets, all served at once on free 127.0.0.1 ports (idle but for the one being
measured) and all stopped at exit:

* scim2-server      the reference server (PyPI ``scim2-server``), in memory,
                    its ASGI app under uvicorn (bench/peer_app.py), installed
                    by this bench in its own venv, bench/.peer-venv
* scimsrv SQLite    ``scimsrv serve`` on a fresh SQLite file
* scimsrv PG        ``scimsrv serve`` on a fresh PostgreSQL database (dropped
                    afterwards); with ``--workers N`` (N > 1) once more, on
                    another fresh database, with N uvicorn workers
* ceiling           bench/ceiling.py, a bare Starlette app, measured at the
                    start and at the end: how much the machine drifted

Every target is seeded over HTTP with the same ``--users`` users (bench/seed.py's
``user_body``) and a group of ``--members`` of them (timed apart, not counted).
Then each request, sequentially (1 client) and with ``--clients`` concurrent
keep-alive clients, runs on every target in turn, so the figures compared are
seconds apart, not minutes; every loop is bounded by ``--max-requests`` and
``--seconds``. The requests are bench/load.py's; the reads (GET by id, lookup,
list page) come first in both modes, so every target answers them on the same
seeded users, then the writes:

* POST /Users        a new user
* lookup             GET /Users?filter=userName eq "..." of a random seeded user
* list page          GET /Users?startIndex=N&count=100, random N
* member add         PATCH /Groups/{id} adding one user in no group yet
* GET /Users/{id}    a random seeded user

It prints req/s and median latency per target and request, then the ratios
scimsrv / peer, PostgreSQL / SQLite and N workers / 1 worker and the member add
flatness (last-50 / first-50 median latency) next to their targets. Exit code 1
when a target is missed or a request failed.

    .venv/bin/python bench/peer.py                             # ~6 min
    .venv/bin/python bench/peer.py --users 500 --seconds 3     # quick, ~3 min
    .venv/bin/python bench/peer.py --workers 2                 # + PostgreSQL, 2 workers
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import uvicorn
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench import load, seed  # noqa: E402
from bench.load import GROUP, PATCH_OP, SCIM_JSON, Measure, Request, expect  # noqa: E402

FLATNESS = "member add flatness"  # last-50 / first-50 median latency
REQUESTS = ("POST /Users", "lookup", "list page", "member add", "GET /Users/{id}")  # as shown
READS = ("GET /Users/{id}", "lookup", "list page")  # on the seeded users only
WRITES = ("POST /Users", "member add")  # in this order: member adds add users just POSTed
PEER_GOALS = {"POST /Users": 1.5, "lookup": 2.0, "list page": 10.0, "member add": 3.0}
PG_SEQUENTIAL_GOAL = 0.7  # PostgreSQL / SQLite, 1 client: at least this
PG_CONCURRENT_GOAL = 1.0  # PostgreSQL / SQLite, --clients: above this
WORKERS_GOAL = 1.6  # N workers / 1 worker on PostgreSQL, --clients: at least this
PEER_SPEC = "scim2-server==0.8.3"
PEER_VENV = BENCH / ".peer-venv"
MEMBER_CHUNK = 100  # members per PATCH when seeding the group
SEED_SECONDS = 3600.0  # seeding is bounded by --users, not by time


@dataclass
class Endpoint:
    """A served target: its SCIM base URL, request headers, and what to do
    once it is seeded, before it is measured."""

    base: str
    token: str
    settle: Callable[[], None] = lambda: None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON}


@dataclass
class Target:
    key: str
    label: str
    serve: Callable[[argparse.Namespace], AbstractContextManager[Endpoint]]


@dataclass
class Seeded:
    user_ids: list[str]  # by seed index
    group_id: str


Ceiling = dict[tuple[str, int], Measure]  # by ("start" or "end", clients)


@dataclass
class Result:
    """One target's figures, by number of clients and request name."""

    label: str
    seed_seconds: float = 0.0
    measures: dict[tuple[int, str], Measure] = field(default_factory=dict)

    def rate(self, clients: int, name: str) -> float | None:
        """req/s, or None when the request was not measured or failed."""
        measure = self.measures.get((clients, name))
        if measure is None or measure.errors or not measure.latencies:
            return None
        return measure.rate


# ---------------------------------------------------------------- targets


def peer_python(spec: str) -> Path:
    """The Python of bench/.peer-venv with ``spec`` and our uvicorn version
    installed; (re)made when missing or installed for another spec."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "bench-installed.txt"
    wanted = [spec, f"uvicorn=={uvicorn.__version__}"]
    if python.exists() and stamp.exists() and stamp.read_text().split() == wanted:
        return python
    print(f"installing {' '.join(wanted)} into {PEER_VENV}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-qq", *wanted], check=True)
    stamp.write_text("\n".join(wanted) + "\n")
    return python


@contextmanager
def serve_peer(args: argparse.Namespace) -> Iterator[Endpoint]:
    """scim2-server in memory (bench/peer_app.py), with a fresh bearer token."""
    python = peer_python(args.peer)
    port = load.free_port()
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "PEER_BEARER_TOKEN": token}
    env.pop("PYTHONPATH", None)
    command = [str(python), str(BENCH / "peer_app.py"), str(port)]
    with load.serving(command, port, env) as origin:
        yield Endpoint(f"{origin}/v2", token)


def vacuum_analyze(url: str) -> None:
    """What autovacuum does on a live database within minutes (see load.settle)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def scimsrv_server(kind: str, workers: int) -> Callable[..., AbstractContextManager[Endpoint]]:
    """``serve(args)``: scimsrv on a fresh ``kind`` database with ``workers``
    uvicorn workers, through its CLI only (tenant create, token issue, serve)."""

    @contextmanager
    def serve(args: argparse.Namespace) -> Iterator[Endpoint]:
        with load.database(kind, args.pg_url) as url:
            port = load.free_port()
            env = load.scimsrv_env(url, port)
            base, token = load.create_tenant(env)
            command = load.scimsrv_command("serve", "--port", str(port), "--workers", str(workers))
            with load.serving(command, port, env):
                if kind == "postgresql":
                    yield Endpoint(base, token, settle=lambda: vacuum_analyze(url))
                else:
                    yield Endpoint(base, token)

    return serve


def chosen_targets(args: argparse.Namespace) -> list[Target]:
    keys = args.targets.split(",")
    unknown = set(keys) - {"peer", "sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown targets: {', '.join(sorted(unknown))}")
    targets = []
    if "peer" in keys:
        targets.append(Target("peer", "scim2-server (memory)", serve_peer))
    if "sqlite" in keys:
        targets.append(Target("sqlite", "scimsrv SQLite", scimsrv_server("sqlite", 1)))
    if "postgresql" in keys:
        targets.append(Target("postgresql", "scimsrv PG", scimsrv_server("postgresql", 1)))
        if args.workers > 1:
            label = f"scimsrv PG {args.workers} workers"
            serve = scimsrv_server("postgresql", args.workers)
            targets.append(Target("postgresql-workers", label, serve))
    return targets


# ---------------------------------------------------------------- measuring


def get_user_request(user_ids: Sequence[str]) -> Request:
    """GET /Users/{id} of a random one of ``user_ids``."""

    async def get_user(c: httpx.AsyncClient, i: int) -> str | None:
        user_id = random.choice(user_ids)
        response = await c.get(f"/Users/{user_id}")
        error = expect(response, 200)
        if error is None and response.json().get("id") != user_id:
            error = f"GET /Users/{user_id}: another id, {response.json().get('id')}"
        return error

    return get_user


async def seed_users(client: httpx.AsyncClient, users: int, clients: int) -> list[str]:
    """POST ``seed.user_body(i)`` for i < ``users``; their ids by index."""
    ids: list[str | None] = [None] * users

    async def post(c: httpx.AsyncClient, i: int) -> str | None:
        response = await c.post("/Users", json=seed.user_body(i))
        error = expect(response, 201)
        if error is None:
            ids[i] = response.json()["id"]
        return error

    measure = await load.drive(
        "seed", client, post, workers=clients, max_requests=users, seconds=SEED_SECONDS
    )
    if measure.errors or None in ids:
        raise RuntimeError(f"seeding users failed: {measure.errors[:1]}")
    return [user_id for user_id in ids if user_id is not None]


async def seed_group(client: httpx.AsyncClient, members: Sequence[str]) -> str:
    """A new group with ``members``, added by PATCHes of MEMBER_CHUNK each."""
    response = await client.post("/Groups", json={"schemas": [GROUP], "displayName": "bench"})
    response.raise_for_status()
    group_id = response.json()["id"]
    for start in range(0, len(members), MEMBER_CHUNK):
        values = [{"value": user_id} for user_id in members[start : start + MEMBER_CHUNK]]
        operation = {"op": "add", "path": "members", "value": values}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        response = await client.patch(f"/Groups/{group_id}", json=body)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"seeding the group: {expect(response, 204)}")
    return group_id


def modes(args: argparse.Namespace) -> list[int]:
    """Numbers of clients: sequential, then concurrent."""
    return [1, args.clients]


def _addable(seeded: Seeded, clients: int, args: argparse.Namespace) -> list[str]:
    """The seeded users in no group set aside for the member adds with ``clients``
    clients: the seeded non-members, split between the modes."""
    outside = seeded.user_ids[args.members :]
    share = len(outside) // len(modes(args))
    index = modes(args).index(clients)
    return outside[index * share : (index + 1) * share]


@dataclass
class Live:
    """A target being measured: served, seeded, and its figures so far."""

    key: str
    endpoint: Endpoint
    seeded: Seeded
    result: Result
    posted: dict[int, list[str]] = field(default_factory=dict)  # by clients: users POSTed

    def request(self, name: str, clients: int, args: argparse.Namespace) -> tuple[Request, int]:
        """Request ``name`` on this target with ``clients`` clients, and its count bound."""
        seeded, bound = self.seeded, args.max_requests
        match name:
            case "GET /Users/{id}":
                return get_user_request(seeded.user_ids), bound
            case "lookup":
                return load.lookup_request(args.users), bound
            case "list page":
                return load.list_page_request(args.users), bound
            case "POST /Users":
                posted = self.posted.setdefault(clients, [])
                prefix = f"post-{clients}-{uuid.uuid4().hex[:8]}"
                return load.post_user_request(prefix, posted), bound
            case "member add":  # users in no group: set aside, then just POSTed
                addable = _addable(seeded, clients, args) + self.posted.get(clients, [])
                request = load.member_add_request(seeded.group_id, iter(addable))
                return request, min(bound, len(addable))
        raise ValueError(name)


async def seed_target(endpoint: Endpoint, args: argparse.Namespace) -> Seeded:
    """``--users`` users and a group of ``--members`` of them, over HTTP; then settle."""
    async with load.keep_alive_client(endpoint.base, args.clients, endpoint.headers) as client:
        user_ids = await seed_users(client, args.users, args.clients)
        seeded = Seeded(user_ids, await seed_group(client, user_ids[: args.members]))
    await asyncio.to_thread(endpoint.settle)
    return seeded


def serve_and_seed(stack: ExitStack, target: Target, args: argparse.Namespace) -> Live:
    """Serve ``target`` until ``stack`` closes, and seed it (timed apart)."""
    print(f"{target.label}: serving, seeding", flush=True)
    endpoint = stack.enter_context(target.serve(args))
    started = time.perf_counter()
    seeded = asyncio.run(seed_target(endpoint, args))
    result = Result(target.label, seed_seconds=time.perf_counter() - started)
    print(f"  seeded {args.users} users in {result.seed_seconds:.1f}s", flush=True)
    return Live(target.key, endpoint, seeded, result)


async def measure_ceiling(origin: str, when: str, args: argparse.Namespace) -> Ceiling:
    bounds = {"max_requests": args.max_requests, "seconds": args.seconds}
    return {
        (when, clients): await load.drive_ceiling(origin, workers=clients, **bounds)
        for clients in modes(args)
    }


async def measure_all(lives: list[Live], ceiling_origin: str, args: argparse.Namespace) -> Ceiling:
    """Every request, mode after mode, each on every target in turn: the figures
    compared are taken seconds apart, not minutes. The reads come first in both
    modes, so every target answers them on the same users; then the writes.
    The ceiling is measured at the start and at the end."""
    ceiling = await measure_ceiling(ceiling_origin, "start", args)
    async with AsyncExitStack() as stack:
        http = {
            (live.key, clients): await stack.enter_async_context(
                load.keep_alive_client(live.endpoint.base, clients, live.endpoint.headers)
            )
            for live in lives
            for clients in modes(args)
        }
        for names in (READS, WRITES):
            for clients in modes(args):
                for name in names:
                    print(f"  {_clients_label(clients)}: {name}", flush=True)
                    for live in lives:
                        request, bound = live.request(name, clients, args)
                        live.result.measures[clients, name] = await load.drive(
                            name,
                            http[live.key, clients],
                            request,
                            workers=clients,
                            max_requests=bound,
                            seconds=args.seconds,
                        )
    return ceiling | await measure_ceiling(ceiling_origin, "end", args)


def run(args: argparse.Namespace) -> tuple[dict[str, Result], Ceiling]:
    """Serve every target and the ceiling at once (idle but for the one measured),
    seed them, measure; every server is stopped on the way out."""
    with ExitStack() as stack:
        ceiling_origin = stack.enter_context(load.serving_ceiling())
        lives = [serve_and_seed(stack, target, args) for target in chosen_targets(args)]
        ceiling = asyncio.run(measure_all(lives, ceiling_origin, args))
    return {live.key: live.result for live in lives}, ceiling


# ---------------------------------------------------------------- report


Check = Callable[[int, float], bool]  # (clients, ratio) -> target met
Goal = tuple[str, Check] | None  # (the target as shown, its check), or no target


@dataclass
class Ratio:
    """One row of the ratio table: a value per number of clients, and its target."""

    comparison: str
    request: str
    values: dict[int, float | None]
    goal: str = "-"
    check: Check | None = None
    missing: str = "not comparable: a request failed"  # why a value is None

    def verdict(self) -> str:
        if any(value is None for value in self.values.values()):
            return self.missing
        if self.check is None:
            return ""
        missed = [
            _clients_label(clients)
            for clients, value in self.values.items()
            if value is not None and not self.check(clients, value)
        ]
        return "missed: " + ", ".join(missed) if missed else "ok"


def _ratio(numerator: Result, denominator: Result, clients: int, name: str) -> float | None:
    top, bottom = numerator.rate(clients, name), denominator.rate(clients, name)
    return top / bottom if top is not None and bottom else None


def _peer_goal(name: str) -> Goal:
    goal = PEER_GOALS.get(name)
    if goal is None:
        return None
    return f"≥ {goal:g}", lambda _clients, value: value >= goal


def _pg_goal(clients: int) -> Goal:
    def check(n: int, value: float) -> bool:
        return value >= PG_SEQUENTIAL_GOAL if n == 1 else value > PG_CONCURRENT_GOAL

    return f"1: ≥ {PG_SEQUENTIAL_GOAL:g}, {clients}: > {PG_CONCURRENT_GOAL:g}", check


def _workers_goal(clients: int) -> Goal:
    return f"{clients}: ≥ {WORKERS_GOAL:g}", lambda n, value: n == 1 or value >= WORKERS_GOAL


def _compare(
    results: dict[str, Result],
    top: str,
    bottom: str,
    title: str,
    goal_of: Callable[[str], Goal],
    clients_modes: list[int],
) -> list[Ratio]:
    """``top`` / ``bottom`` req/s for every request, when both targets ran."""
    if top not in results or bottom not in results:
        return []
    rows = []
    for name in REQUESTS:
        values = {c: _ratio(results[top], results[bottom], c, name) for c in clients_modes}
        goal, check = goal_of(name) or ("-", None)
        rows.append(Ratio(title, name, values, goal, check))
    return rows


def ratio_rows(results: dict[str, Result], args: argparse.Namespace) -> list[Ratio]:
    """scimsrv / peer, PostgreSQL / SQLite, N workers / 1, then member add flatness."""
    clients_modes = modes(args)
    rows = []
    for key in ("sqlite", "postgresql"):
        if key in results:
            title = f"{results[key].label} / peer"
            rows += _compare(results, key, "peer", title, _peer_goal, clients_modes)
    pg_goal = _pg_goal(args.clients)
    rows += _compare(
        results, "postgresql", "sqlite", "PG / SQLite", lambda _: pg_goal, clients_modes
    )
    workers_goal = _workers_goal(args.clients)
    title = f"PG {args.workers} workers / 1"
    rows += _compare(
        results, "postgresql-workers", "postgresql", title, lambda _: workers_goal, clients_modes
    )
    for key, result in results.items():
        drifts = {c: _drift(result, c) for c in clients_modes}
        goal, check = ("-", None) if key == "peer" else (f"≤ {load.FLAT:g}", _flat)
        missing = "fewer than 100 member adds, or failed"
        rows.append(Ratio(FLATNESS, result.label, drifts, goal, check, missing))
    return rows


def _flat(_clients: int, drift: float) -> bool:
    return drift <= load.FLAT


def _drift(result: Result, clients: int) -> float | None:
    measure = result.measures.get((clients, "member add"))
    return measure.drift() if measure is not None and not measure.errors else None


def _cell(measure: Measure | None) -> str:
    if measure is None:
        return "-"
    if not measure.latencies:
        return f"failed ({len(measure.errors)} errors)"
    text = f"{measure.rate:,.0f} · {measure.median_ms:.2f}"
    return text + (f" ({len(measure.errors)} err)" if measure.errors else "")


def _clients_label(clients: int) -> str:
    return f"{clients} client{'s' if clients > 1 else ''}"


def figures_table(results: list[Result], args: argparse.Namespace) -> Table:
    table = Table(title="req/s · median ms", title_justify="left")
    table.add_column("clients")
    table.add_column("request")
    for result in results:
        table.add_column(result.label, justify="right")
    for clients in modes(args):
        for name in REQUESTS:
            cells = (_cell(r.measures.get((clients, name))) for r in results)
            table.add_row(_clients_label(clients), name, *cells)
        table.add_section()
    table.add_row(
        "", f"seeding {args.users} users (s)", *(f"{r.seed_seconds:.1f}" for r in results)
    )
    return table


def ratios_table(rows: list[Ratio], args: argparse.Namespace) -> Table:
    table = Table(title="ratios of req/s (flatness: of median latency)", title_justify="left")
    for column in ("comparison", "request (flatness: target)"):
        table.add_column(column)
    for clients in modes(args):
        table.add_column(_clients_label(clients), justify="right")
    table.add_column("target")
    table.add_column("verdict")
    previous = None
    for row in rows:
        if previous is not None and row.comparison != previous:
            table.add_section()
        previous = row.comparison
        values = (f"{v:.2f}" if v is not None else "-" for v in row.values.values())
        verdict = row.verdict()
        style = "red" if verdict.startswith(("missed", "not")) else None
        table.add_row(row.comparison, row.request, *values, row.goal, verdict, style=style)
    return table


def errors_of(results: list[Result]) -> list[str]:
    return [
        f"{result.label}, {_clients_label(clients)}, {name}: "
        f"{len(measure.errors)} errors, first: {measure.errors[0]}"
        for result in results
        for (clients, name), measure in result.measures.items()
        if measure.errors
    ]


def ceiling_table(ceiling: Ceiling, args: argparse.Namespace) -> Table:
    """The bare Starlette ceiling at the start and at the end of the run."""
    table = Table(title="ceiling: GET /json, bare Starlette", title_justify="left")
    for column in ("clients", "start", "end", "end / start"):
        table.add_column(column, justify="right")
    for clients in modes(args):
        start, end = ceiling["start", clients], ceiling["end", clients]
        drift = f"{end.rate / start.rate:.2f}" if start.rate else "-"
        table.add_row(_clients_label(clients), _cell(start), _cell(end), drift)
    return table


def report(results: dict[str, Result], ceiling: Ceiling, args: argparse.Namespace) -> int:
    """Print the tables; 1 when a target was missed or a request failed."""
    console = Console(width=max(Console().width, 150))
    ordered = list(results.values())
    console.print(ceiling_table(ceiling, args))
    console.print("(end / start far from 1: the machine drifted during the run)\n")
    console.print(figures_table(ordered, args))
    rows = ratio_rows(results, args)
    console.print(ratios_table(rows, args))
    missed = [row for row in rows if row.check is not None and row.verdict() != "ok"]
    errors = errors_of(ordered)
    for line in errors:
        console.print(f"[red]error[/red] {line}", highlight=False)
    console.print(
        f"targets: {sum(r.check is not None for r in rows) - len(missed)} met, {len(missed)} missed"
    )
    return 1 if missed or errors else 0


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="users seeded in every target")
    parser.add_argument("--members", type=int, help="of them in the group (default: half)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time bound per loop")
    parser.add_argument("--max-requests", type=int, default=5000, help="count bound per loop")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument(
        "--workers", type=int, default=1, help="N > 1: also scimsrv on PostgreSQL with N workers"
    )
    parser.add_argument("--targets", default="peer,sqlite,postgresql", help="which to run")
    parser.add_argument("--peer", default=PEER_SPEC, help="pip requirement of the peer")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "SCIMSRV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; the bench creates and drops its own databases there",
    )
    args = parser.parse_args()
    if args.users < 200:
        parser.error("--users must be at least 200 (list pages of 100 at random offsets)")
    if args.members is None:
        args.members = args.users // 2
    args.members = min(args.members, args.users)
    if args.clients < 2:
        parser.error("--clients must be at least 2 (1 client is the sequential run)")
    return args


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    results, ceiling = run(args)
    code = report(results, ceiling, args)
    print(f"whole run {time.perf_counter() - started:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
