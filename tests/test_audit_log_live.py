"""The audit log under concurrent writes: the real server with two workers on
PostgreSQL, writes sent from several threads at once (a bounded number),
each answered write leaves exactly one entry with its own request id (a
refused one its failure entry), and the log pages through all of them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live_server import live_tenant, server_env

WORKERS = 2
THREADS = 4
PER_THREAD = 6  # user creates per thread; then one duplicate each (a 409)
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def live(fresh_database_url, tmp_path):
    env = server_env(fresh_database_url("postgres"))
    with live_tenant(env, tmp_path, "acme", workers=WORKERS) as tenant:
        yield tenant


def test_concurrent_writes_leave_one_entry_each_with_their_request_id(live):
    def writer(thread: int) -> dict[str, int]:
        answered: dict[str, int] = {}
        with live.scim_client() as client:
            for n in range(PER_THREAD + 1):
                name = f"user-{thread}-{min(n, PER_THREAD - 1)}@example.com"  # the last repeats
                request_id = f"w{thread}-{n}"
                response = client.post(
                    "/Users",
                    json={"schemas": [USER], "userName": name},
                    headers={"X-Request-Id": request_id},
                )
                assert response.headers["x-request-id"] == request_id
                answered[request_id] = response.status_code
        return answered

    with ThreadPoolExecutor(THREADS) as pool:
        answered = {k: v for part in pool.map(writer, range(THREADS)) for k, v in part.items()}
    assert sorted(set(answered.values())) == [201, 409]

    found: list[dict] = []
    params: dict[str, str | int] = {"count": 7}
    for _ in range(len(answered)):  # bounded: never more pages than entries
        page = live.admin.get("/log", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["entries"]
        if body["nextCursor"] is None:
            break
        params["cursor"] = body["nextCursor"]
    scim = [e for e in found if "requestId" in e["request"]]
    assert len({e["id"] for e in found}) == len(found)
    assert sorted(e["request"]["requestId"] for e in scim) == sorted(answered)
    for entry in scim:
        status = answered[entry["request"]["requestId"]]
        assert entry["status"] == (None if status == 201 else status)
    commands = [e["request"]["command"] for e in found if "command" in e["request"]]
    assert sorted(commands) == ["scimsrv tenant create", "scimsrv token issue"]
    assert body["totalResults"] == len(answered) + 2
