"""/metrics of the real server: ``scimsrv serve`` with two workers on PostgreSQL
(and one on SQLite), SCIM traffic from several connections, then a scrape
whose counters must add up, exactly, to what was sent and decided, whichever
worker answered; a worker killed mid-run keeps its counts and loses its live
gauge; the metrics directory is fresh per start and gone after the stop."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveTenant, live_server, scim_client, server_env, tenant_on
from tests.metrics_helpers import Samples, parse, total, value

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"
BASE = "/t/{tenant}/scim/v2"
USERS = 12  # the default license set has 10 seats a plan: two users wait
CLIENTS = 6
MORE_CONNECTIONS = 100  # bound on the extra requests until both workers have answered


class Traffic:
    """Requests to one tenant, each from a new connection (so both workers
    get some), tallied by method, route template and status."""

    def __init__(self, live: LiveTenant) -> None:
        self.live = live
        self.sent: Counter[tuple[str, str, str]] = Counter()

    def call(self, method: str, path: str, route: str, expected: int, **kwargs) -> httpx.Response:
        with scim_client(self.live.root, self.live.tenant, self.live.token) as client:
            response = client.request(method, path, **kwargs)
        assert response.status_code == expected, f"{method} {path}: {response.text[:300]}"
        self.sent[method, BASE + route, str(expected)] += 1
        return response


def scrape(live: LiveTenant) -> Samples:
    response = httpx.get(f"{live.root}/metrics", headers=live.admin.headers, timeout=60)
    assert response.status_code == 200, response.text
    return parse(response.text)


def worker_pids(directory: Path, kind: str) -> set[int]:
    """The pids with a ``kind`` file (``counter``, ``gauge_livesum``) in the metrics directory."""
    return {int(path.stem.rsplit("_", 1)[1]) for path in directory.glob(f"{kind}_*.db")}


def member(op: str, user_id: str) -> dict:
    if op == "add":
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
    return {"schemas": [PATCH], "Operations": [operation]}


def drive(traffic: Traffic) -> None:
    """12 users, a Sales-Premium group they all join at once (ten get the
    plan, two wait), one licensed member removed (a waiting user is served),
    one unknown id."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        bodies = [{"schemas": [USER], "userName": f"user{i:02d}@example.com"} for i in range(USERS)]
        created = pool.map(lambda b: traffic.call("POST", "/Users", "/Users", 201, json=b), bodies)
        ids = [response.json()["id"] for response in created]
        group = traffic.call(
            "POST",
            "/Groups",
            "/Groups",
            201,
            json={"schemas": [GROUP], "displayName": "Sales-Premium"},
        ).json()["id"]
        path = f"/Groups/{group}"
        list(
            pool.map(
                lambda i: traffic.call("PATCH", path, "/Groups/{id}", 204, json=member("add", i)),
                ids,
            )
        )
        states = {
            i: traffic.call("GET", f"/Users/{i}", "/Users/{id}", 200).json()[LICENSING]["state"]
            for i in ids
        }
    assert Counter(states.values()) == {"licensed": 10, "pending": 2}
    licensed = next(i for i, state in states.items() if state == "licensed")
    traffic.call("PATCH", path, "/Groups/{id}", 204, json=member("remove", licensed))
    traffic.call("GET", "/Users/00000000-0000-4000-8000-000000000000", "/Users/{id}", 404)


def both_workers_answered(traffic: Traffic, directory: Path) -> None:
    """Bounded: more requests from new connections until two workers have counted."""
    for _ in range(MORE_CONNECTIONS):
        if len(worker_pids(directory, "counter")) >= 2:
            return
        traffic.call("GET", "/Users?count=1", "/Users", 200)
    pytest.fail(f"one worker answered all of {sum(traffic.sent.values())} connections")


def assert_counts(samples: Samples, traffic: Traffic) -> None:
    tenant = traffic.live.tenant
    for (method, route, status), count in traffic.sent.items():
        labels = {"tenant": tenant, "method": method, "route": route, "status": status}
        assert value(samples, "scimsrv_http_requests_total", **labels) == count, labels
    sent = sum(traffic.sent.values())
    assert total(samples, "scimsrv_http_requests_total", tenant=tenant) == sent
    plan = {"tenant": tenant, "plan": "Sales-Premium"}
    assert value(samples, "scimsrv_plan_grants_total", **plan) == 11
    assert value(samples, "scimsrv_plan_releases_total", **plan) == 1
    decisions = {
        state: value(samples, "scimsrv_provisioning_decisions_total", tenant=tenant, state=state)
        for state in ("licensed", "pending", "none")
    }
    # A decision is a change of plans or state: the release serves one waiting
    # user; the other, still waiting as before, decided nothing new.
    assert decisions == {"licensed": 11, "pending": 2, "none": 1}
    assert value(samples, "scimsrv_users_pending", tenant=tenant) == 1
    assert value(samples, "scimsrv_plan_seats_in_use", **plan) == 10
    assert value(samples, "scimsrv_plan_seats_bought", **plan) == 10


@contextmanager
def served(url: str, workdir: Path, workers: int) -> Iterator[tuple[Traffic, Path]]:
    """A tenant on ``scimsrv serve --workers N`` (temporary files in ``workdir``):
    its traffic and the server's metrics directory, which must be gone after
    the server stops."""
    env = {**server_env(url), "TMPDIR": str(workdir)}
    with live_server(env, workdir, workers=workers) as (root, log):
        [directory] = workdir.glob("scimsrv-metrics-*")
        with tenant_on(env, root, log, "metrics") as live:
            yield Traffic(live), directory
    assert not directory.exists()


def test_two_workers_counters_add_up_and_outlive_a_killed_worker(fresh_database_url, tmp_path):
    with served(fresh_database_url("postgres"), tmp_path, workers=2) as (traffic, directory):
        live = traffic.live
        drive(traffic)
        both_workers_answered(traffic, directory)
        assert_counts(scrape(live), traffic)

        lines = [json.loads(line) for line in live.log.read_text().splitlines()]
        mine = [line for line in lines if line.get("tenant") == live.tenant]
        decided = [line for line in mine if line["logger"] == "scimsrv.provisioning"]
        assert Counter(line["state"] for line in decided) == {
            "licensed": 11,
            "pending": 2,
            "none": 1,
        }
        answered = [line for line in mine if line["logger"] == "scimsrv.access"]
        assert len(answered) == sum(traffic.sent.values())

        victim = min(worker_pids(directory, "counter"))
        os.kill(victim, signal.SIGKILL)  # a worker of the server this test started
        deadline = time.monotonic() + 60
        while victim in worker_pids(directory, "gauge_livesum"):
            assert time.monotonic() < deadline, "the dead worker's live gauge stayed"
            time.sleep(0.1)
        samples = scrape(live)
        assert_counts(samples, traffic)  # the dead worker's counts are still there
        assert victim in worker_pids(directory, "counter")
        assert samples[("scimsrv_http_requests_in_progress", frozenset())] == 1  # the scrape


def test_one_worker_serves_its_metrics_from_a_fresh_directory(fresh_database_url, tmp_path):
    with served(fresh_database_url("sqlite"), tmp_path, workers=1) as (traffic, directory):
        live = traffic.live
        for i in range(3):
            traffic.call(
                "POST", "/Users", "/Users", 201, json={"schemas": [USER], "userName": f"u{i}"}
            )
        traffic.call("GET", "/Users", "/Users", 200)
        samples = scrape(live)
        assert total(samples, "scimsrv_http_requests_total", tenant=live.tenant) == 4
        assert (
            value(
                samples,
                "scimsrv_http_requests_total",
                tenant=live.tenant,
                method="POST",
                route=BASE + "/Users",
                status="201",
            )
            == 3
        )
        assert len(worker_pids(directory, "counter")) == 1
