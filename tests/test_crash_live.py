"""A crash under load loses nothing that was acknowledged: PostgreSQL, two
workers, a bounded write load (users created and added to a plan group)
killed with SIGKILL part-way; after a restart every write that got a 2xx is
there, nothing that was never sent is, and the tenant is consistent. A
write in flight at the kill may have committed or not: its client never
learnt which, as with any crash."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.live_server import cli, killable_server, scim_client, server_env

TENANT = "crash"
THREADS = 4
ROUNDS = 30  # per thread: a POST and a member add each
KILL_AFTER = 40  # acknowledged writes before the kill
GROUP_NAME = "Service-Premium"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"


def test_acknowledged_writes_survive_a_sigkill_of_every_worker(fresh_database_url, tmp_path):
    env = server_env(fresh_database_url("postgres"))
    cli(env, "tenant", "create", TENANT)
    token = cli(env, "token", "issue", TENANT)
    operator = cli(env, "operator", "token", "issue")
    created: dict[str, str] = {}  # userName -> id, acknowledged 201
    members: set[str] = set()  # ids whose member add was acknowledged 204
    attempted: set[str] = set()  # userNames whose POST was sent
    acknowledged = threading.Condition()
    killed = threading.Event()

    def acknowledge() -> None:
        with acknowledged:
            acknowledged.notify_all()

    with killable_server(env, tmp_path, workers=2, name="before") as (root, _log, kill):
        with scim_client(root, TENANT, token) as scim:
            group = scim.post("/Groups", json={"displayName": GROUP_NAME}).json()["id"]

        def load(thread: int) -> None:
            with scim_client(root, TENANT, token, timeout=30) as client:
                for round_ in range(ROUNDS):
                    if killed.is_set():
                        return
                    name = f"crash-{thread}-{round_}@example.com"
                    attempted.add(name)
                    try:
                        answer = client.post("/Users", json={"userName": name})
                        if answer.status_code != 201:
                            raise AssertionError(answer.text)
                        created[name] = answer.json()["id"]
                        acknowledge()
                        body = {
                            "schemas": [PATCH],
                            "Operations": [
                                {
                                    "op": "add",
                                    "path": "members",
                                    "value": [{"value": created[name]}],
                                }
                            ],
                        }
                        patched = client.patch(f"/Groups/{group}", json=body)
                        if patched.status_code != 204:
                            raise AssertionError(patched.text)
                        members.add(created[name])
                        acknowledge()
                    except httpx.TransportError:
                        return  # the server is gone: this write's fate is unknown

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(load, t) for t in range(THREADS)]
            with acknowledged:
                assert acknowledged.wait_for(
                    lambda: len(created) + len(members) >= KILL_AFTER, timeout=120
                ), "the load never got going"
            killed.set()
            kill()
            for future in futures:
                future.result(timeout=120)
    assert created, "nothing was acknowledged before the kill"

    with killable_server(env, tmp_path, workers=2, name="after") as (root, _log, _kill):
        with scim_client(root, TENANT, token) as scim:
            for name, user_id in created.items():
                answer = scim.get(f"/Users/{user_id}")
                assert answer.status_code == 200 and answer.json()["userName"] == name
            listed = scim.get(f"/Groups/{group}").json()
            assert members <= {m["value"] for m in listed.get("members", [])}
            for user_id in members:
                state = scim.get(f"/Users/{user_id}").json()[LICENSING]["state"]
                assert state in ("licensed", "pending")
            stored = scim.get("/Users", params={"count": 1000}).json()["Resources"]
            assert {u["userName"] for u in stored} <= attempted, "a write nobody sent"
        admin = httpx.Client(
            base_url=f"{root}/admin/v1/tenants/{TENANT}",
            headers={"Authorization": f"Bearer {operator}"},
            timeout=60,
        )
        with admin:
            assert admin.get("/check").json() == {"consistent": True, "problems": []}
