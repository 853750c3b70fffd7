"""Many identity-provider requests at once against the real server with two
uvicorn workers: the seats bought are never exceeded, every SCIM write still
succeeds, and the tenant stays consistent."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.live_server import cli, live_server, server_env

TENANT = "race"
SEATS = 10  # the default license set: 10 seats per plan
USERS = 16
SCIM_JSON = "application/scim+json"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"


def all_at_once(count: int, work) -> list:
    """Run ``work(i)`` for i < count in threads released together by a barrier."""
    barrier = threading.Barrier(count, timeout=60)

    def run(index: int):
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count), timeout=300))


def users_where(scim: httpx.Client, condition: str) -> int:
    response = scim.get("/Users", params={"filter": f"{LICENSING}:{condition}", "count": 0})
    assert response.status_code == 200, response.text
    return response.json()["totalResults"]


def test_racing_member_adds_and_deactivations_never_exceed_the_seats(
    backend, fresh_database_url, tmp_path
):
    env = server_env(fresh_database_url(backend))
    with live_server(env, tmp_path, workers=2) as (root, log):
        cli(env, "tenant", "create", TENANT)
        token = cli(env, "token", "issue", TENANT)
        operator = cli(env, "operator", "token", "issue")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
        base = f"{root}/t/{TENANT}/scim/v2"
        admin = httpx.Client(
            base_url=f"{root}/admin/v1/tenants/{TENANT}",
            headers={"Authorization": f"Bearer {operator}"},
            timeout=120,
        )
        with httpx.Client(base_url=base, headers=headers, timeout=120) as scim, admin:
            users = [
                scim.post("/Users", json={"userName": f"user{i}@race.test"}).json()["id"]
                for i in range(USERS)
            ]
            group = scim.post("/Groups", json={"displayName": "Marketing-Premium"}).json()["id"]

            def add(index: int) -> int:
                body = {
                    "schemas": [PATCH],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": users[index]}]}
                    ],
                }
                return scim.patch(f"/Groups/{group}", json=body).status_code

            assert all_at_once(USERS, add) == [204] * USERS
            assert users_where(scim, 'state eq "licensed"') == SEATS
            assert users_where(scim, 'state eq "pending"') == USERS - SEATS

            licensed = scim.get(
                "/Users", params={"filter": f'{LICENSING}:state eq "licensed"', "count": 3}
            ).json()["Resources"]

            def deactivate(index: int) -> int:
                body = {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "value": {"active": False}}],
                }
                return scim.patch(f"/Users/{licensed[index]['id']}", json=body).status_code

            assert all_at_once(len(licensed), deactivate) == [200] * len(licensed)
            assert users_where(scim, 'state eq "licensed"') == SEATS
            assert users_where(scim, 'state eq "pending"') == USERS - SEATS - len(licensed)

            seats = {m["module"]: m for m in admin.get("/license-set").json()["modules"]}
            assert seats["marketing-premium"]["inUse"] == SEATS
            assert admin.get("/check").json() == {"consistent": True, "problems": []}
    assert "Traceback" not in log.read_text(), log.read_text()
