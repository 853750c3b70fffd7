"""Plans stay right when writes about one user race in different workers.

Against the real server with four uvicorn workers on PostgreSQL: a user moved
from one plan-named group to another by two simultaneous PATCHes (remove from
the first, add to the second) must end with exactly the second plan, and a
mixed load of member changes, (de)activations and user replacements on a
small pool of users (eight threads, one request each per round, the rounds
started together) must answer every write 2xx, leave the tenant consistent
after every round, and leave every user with the plans its final memberships
and active flag ask for.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from licensing_core.db import normalize_url
from tests.live_server import LiveTenant, live_server, server_env, tenant_on

WORKERS = 4
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
CONSISTENT = {"consistent": True, "problems": []}

MOVES = 40  # users moved from Sales-Essentials to Marketing-Essentials
CHECK_EVERY = 10
THREADS = 8
ROUNDS = 25  # each thread sends one request per round; the rounds start together
POOL = 10  # never more users than the 10 seats a plan has: no one waits for a seat
SEED = 20260
# Plan-named groups in the canonical display order (Sales, Service, Marketing).
PLAN_GROUPS = ("Sales-Essentials", "Service-Premium", "Marketing-Essentials")


@pytest.fixture(scope="module")
def server(fresh_database_url, tmp_path_factory) -> Iterator:
    """One server (four workers, PostgreSQL) for the module; each test makes its tenant."""
    env = server_env(fresh_database_url("postgres"))
    with live_server(env, tmp_path_factory.mktemp("plan-race"), workers=WORKERS) as (root, log):
        yield env, root, log


@contextmanager
def tenant(server, name: str) -> Iterator[LiveTenant]:
    env, root, log = server
    with tenant_on(env, root, log, name) as live:
        yield live


def member_patch(op: str, user_id: str) -> dict[str, Any]:
    if op == "add":
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
    return {"schemas": [PATCH], "Operations": [operation]}


def active_patch(active: bool) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": active}}]}


def excerpt(response: httpx.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


def check(live: LiveTenant) -> dict[str, Any]:
    response = live.admin.get("/check")
    assert response.status_code == 200, excerpt(response)
    return response.json()


def licensing(scim: httpx.Client, user_id: str) -> dict[str, Any]:
    response = scim.get(f"/Users/{user_id}")
    assert response.status_code == 200, excerpt(response)
    return response.json()[LICENSING]


def create_group(scim: httpx.Client, name: str) -> str:
    response = scim.post("/Groups", json={"displayName": name})
    assert response.status_code == 201, excerpt(response)
    return response.json()["id"]


def create_user(scim: httpx.Client, user_name: str) -> str:
    response = scim.post("/Users", json={"schemas": [USER_SCHEMA], "userName": user_name})
    assert response.status_code == 201, excerpt(response)
    return response.json()["id"]


def failure_report(title: str, lines: list[str], live: LiveTenant) -> str:
    state = check(live)
    log = live.log.read_text()
    tracebacks = log.count("Traceback")
    return "\n".join(
        [
            title,
            *lines,
            f"/check at the end: consistent={state['consistent']}, "
            f"{len(state['problems'])} problems:",
            *(f"  {problem}" for problem in state["problems"][:20]),
            f"server log: {tracebacks} tracebacks",
        ]
    )


def test_moving_a_user_between_plan_groups_in_two_racing_patches(server):
    with tenant(server, "moves") as live:
        sales = create_group(live.scim, "Sales-Essentials")
        marketing = create_group(live.scim, "Marketing-Essentials")
        # One client per racing request, no kept-alive connections: each request
        # is a new connection, so the two land on any of the four workers.
        fresh = {"limits": httpx.Limits(max_keepalive_connections=0)}
        racers = [live.scim_client(**fresh), live.scim_client(**fresh)]
        barrier = threading.Barrier(2, timeout=60)
        wrong: list[str] = []
        checks: list[str] = []

        def race(side: int, user_id: str) -> httpx.Response:
            group, op = (sales, "remove") if side == 0 else (marketing, "add")
            barrier.wait()
            return racers[side].patch(f"/Groups/{group}", json=member_patch(op, user_id))

        with ThreadPoolExecutor(max_workers=2) as pool, racers[0], racers[1]:
            for move in range(1, MOVES + 1):
                user = create_user(live.scim, f"mover{move}@race.test")
                added = live.scim.patch(f"/Groups/{sales}", json=member_patch("add", user))
                assert added.status_code == 204, excerpt(added)
                assert licensing(live.scim, user).get("planCombination") == "Sales-Essentials"

                removed, moved = (
                    future.result(timeout=120)
                    for future in [pool.submit(race, 0, user), pool.submit(race, 1, user)]
                )
                assert (removed.status_code, moved.status_code) == (204, 204), (
                    f"move {move}: remove {excerpt(removed)}; add {excerpt(moved)}"
                )
                view = licensing(live.scim, user)
                got = (view.get("planCombination"), view.get("requestedPlans"), view["state"])
                if got != ("Marketing-Essentials", "Marketing-Essentials", "licensed"):
                    wrong.append(f"move {move}: user {user} ended with {json.dumps(view)}")
                    checks.append(f"after move {move}: {json.dumps(check(live))}")
                elif move % CHECK_EVERY == 0 and (state := check(live)) != CONSISTENT:
                    checks.append(f"after move {move}: {json.dumps(state)}")
                # Free the seat (the default set has 10 per plan) for the next user.
                deleted = live.scim.delete(f"/Users/{user}")
                assert deleted.status_code == 204, excerpt(deleted)

        assert not wrong and not checks, failure_report(
            f"{len(wrong)} of {MOVES} racing moves Sales-Essentials -> Marketing-Essentials "
            "left the wrong plans (want planCombination = requestedPlans = "
            "'Marketing-Essentials', state licensed):",
            wrong + checks,
            live,
        )
        assert check(live) == CONSISTENT


def expected_view(plans: list[str], active: bool) -> dict[str, Any]:
    """The licensing extension a user in the plan-named groups ``plans`` (in
    canonical order) should show: their union when active, nothing otherwise."""
    if not active or not plans:
        return {"planCombination": None, "requestedPlans": None, "state": "none"}
    combination = " + ".join(plans)
    return {"planCombination": combination, "requestedPlans": combination, "state": "licensed"}


def test_mixed_load_leaves_every_user_with_the_plans_of_its_memberships(server):
    with tenant(server, "mixed") as live:
        groups = {name: create_group(live.scim, name) for name in PLAN_GROUPS}
        users = {
            create_user(live.scim, f"pool{i}@race.test"): f"pool{i}@race.test" for i in range(POOL)
        }
        pool_ids = sorted(users)
        checks: list[str] = []
        rounds = iter(range(1, ROUNDS + 1))

        def between_rounds() -> None:
            """Run by the barrier before each round, while no request is in
            flight: the rounds so far must have left the tenant consistent."""
            done = next(rounds) - 1
            if done:
                state = live.admin.get("/check").json()
                if state != CONSISTENT:
                    checks.append(f"after round {done}: {json.dumps(state)}")

        barrier = threading.Barrier(THREADS, action=between_rounds, timeout=120)

        def load(thread: int) -> list[str]:
            """One random write per round; the ones not answered 2xx."""
            rng = random.Random(SEED * 100 + thread)
            bad = []
            with live.scim_client() as scim:
                for number in range(ROUNDS):
                    user = rng.choice(pool_ids)
                    kind = rng.choices(["add", "remove", "active", "put"], [4, 3, 2, 2])[0]
                    active = rng.random() < 0.6
                    barrier.wait()
                    if kind in ("add", "remove"):
                        group = rng.choice(PLAN_GROUPS)
                        what = f"{kind} {user} {'to' if kind == 'add' else 'from'} {group}"
                        response = scim.patch(
                            f"/Groups/{groups[group]}", json=member_patch(kind, user)
                        )
                    elif kind == "active":
                        what = f"PATCH {user} active={active}"
                        response = scim.patch(f"/Users/{user}", json=active_patch(active))
                    else:
                        # Half the PUTs rename the user (a unique-key update,
                        # and a new name its groups' members show).
                        name = users[user]
                        if rng.random() < 0.5:
                            name = f"{user[:8]}.{thread}.{number}@race.test"
                        what = f"PUT {user} active={active} userName={name}"
                        body = {
                            "schemas": [USER_SCHEMA],
                            "userName": name,
                            "displayName": f"Pool user {thread}.{number}",
                            "active": active,
                        }
                        response = scim.put(f"/Users/{user}", json=body)
                    if not 200 <= response.status_code < 300:
                        bad.append(
                            f"thread {thread} round {number + 1} {what}: {excerpt(response)}"
                        )
            return bad

        deadlocks_before = deadlocks(server)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            failed = [
                line for lines in pool.map(load, range(THREADS), timeout=300) for line in lines
            ]
        # Every write follows the protocol's lock order: none may deadlock.
        assert deadlocks(server) == deadlocks_before

        members: dict[str, set[str]] = {}
        for name, group_id in groups.items():
            response = live.scim.get(f"/Groups/{group_id}")
            assert response.status_code == 200, excerpt(response)
            members[name] = {member["value"] for member in response.json().get("members", [])}
        wrong = []
        for user in pool_ids:
            response = live.scim.get(f"/Users/{user}")
            assert response.status_code == 200, excerpt(response)
            body = response.json()
            plans = [name for name in PLAN_GROUPS if user in members[name]]
            want = expected_view(plans, body.get("active") is not False)
            view = body[LICENSING]
            if {key: view.get(key) for key in want} != want:
                wrong.append(
                    f"user {user} (active={body.get('active')}, groups {plans}): "
                    f"extension {json.dumps(view)}, want {json.dumps(want)}"
                )

        final = check(live)
        assert not failed and not wrong and not checks and final == CONSISTENT, failure_report(
            f"{THREADS} threads x {ROUNDS} rounds of mixed writes on {POOL} users: "
            f"{len(failed)} not answered 2xx, {len(wrong)} users end with the wrong plans, "
            f"{len(checks)} inconsistent checks between rounds",
            failed[:20] + wrong + checks,
            live,
        )


def deadlocks(server) -> int:
    """How many deadlocks PostgreSQL has detected in the server's database."""
    env, _, _ = server
    engine = create_engine(normalize_url(env["SCIMSRV_DATABASE_URL"]))
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
    finally:
        engine.dispose()
