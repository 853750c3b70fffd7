"""Suspending and deleting a tenant while its identity provider writes, on the
real server with two workers and PostgreSQL: no request fails with a 5xx,
every request sent after the suspension (deletion) answered is refused, and
a deleted tenant keeps no user, link or token, only a ledger that replays to
no license held."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import case, func, select

from licensing_core.db import Database
from licensing_core.tables import GRANT, LedgerEntry
from scimsrv.storage.tables import metadata
from tests.live_server import live_tenant, server_env

TENANT = "lifecycle"
THREADS = 4
PER_THREAD = 8


def load(
    live, started: threading.Event, stop_after: threading.Event, make_request
) -> list[tuple[bool, int]]:
    """``THREADS`` clients sending ``PER_THREAD`` requests each (``started`` is
    set when the first one answered); per request, whether it was sent after
    ``stop_after`` was set, and its status."""

    def client(worker: int) -> list[tuple[bool, int]]:
        seen = []
        with live.scim_client() as scim:
            for n in range(PER_THREAD):
                after = stop_after.is_set()
                seen.append((after, make_request(scim, f"u{worker}-{n}@load.test").status_code))
                started.set()
        return seen

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = pool.map(client, range(THREADS), timeout=300)
        return [item for seen in results for item in seen]


def operator_action(
    live, started: threading.Event, done: threading.Event, method: str, path: str
) -> httpx.Response:
    """``method path`` (relative to the tenant's admin API, or a whole URL) once
    ``started`` is set; ``done`` is set once it answered."""
    assert started.wait(timeout=120)
    response = live.admin.request(method, path)
    done.set()
    return response


def test_suspension_under_load_refuses_every_later_request_and_loses_none(
    fresh_database_url, tmp_path
):
    env = server_env(fresh_database_url("postgres"))
    with live_tenant(env, tmp_path, TENANT, workers=2) as live:
        started, suspended = threading.Event(), threading.Event()

        def create(scim, name):
            return scim.post("/Users", json={"userName": name})

        with ThreadPoolExecutor(max_workers=1) as operator:
            answer = operator.submit(operator_action, live, started, suspended, "POST", "/suspend")
            statuses = load(live, started, suspended, create)
            assert answer.result(timeout=120).status_code == 200
        assert {status for _, status in statuses} <= {201, 403}
        assert all(status == 403 for after, status in statuses if after)
        assert live.admin.post("/resume").status_code == 200
        users = live.scim.get("/Users", params={"count": 0}).json()["totalResults"]
        assert users == sum(status == 201 for _, status in statuses)


def test_deletion_under_load_leaves_no_user_link_or_token(fresh_database_url, tmp_path):
    url = fresh_database_url("postgres")
    env = server_env(url)
    with live_tenant(env, tmp_path, TENANT, workers=2) as live:
        group = live.scim.post("/Groups", json={"displayName": "Sales-Premium"}).json()["id"]
        started, deleted = threading.Event(), threading.Event()

        def create_and_license(scim, name):
            created = scim.post("/Users", json={"userName": name})
            if created.status_code != 201:
                return created
            operation = {"op": "add", "path": "members", "value": [{"value": created.json()["id"]}]}
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [operation],
            }
            return scim.patch(f"/Groups/{group}", json=body)

        with ThreadPoolExecutor(max_workers=1) as operator:
            tenant_url = f"{live.root}/admin/v1/tenants/{TENANT}"
            # Licensed users the deletion must release, whatever the interleaving.
            for n in range(3):
                assert create_and_license(live.scim, f"first{n}@load.test").status_code == 204
            answer = operator.submit(operator_action, live, started, deleted, "DELETE", tenant_url)
            statuses = load(live, started, deleted, create_and_license)
            assert answer.result(timeout=120).status_code == 200
        assert all(status < 500 for _, status in statuses), statuses
        assert {status for _, status in statuses} <= {201, 204, 401, 404, 409}
        assert all(status == 401 for after, status in statuses if after)
        assert live.admin.get(tenant_url).json()["state"] == "deleted"

    db = Database.from_url(url)
    try:
        with db.read() as session:
            for name in ("scim_user", "scim_group", "associate", "licenseassoclink", "api_token"):
                table = metadata.tables[name]
                left = session.scalar(
                    select(func.count()).select_from(table).where(table.c.tenant_id == TENANT)
                )
                assert left == 0, name
            held = session.execute(
                select(
                    LedgerEntry.module_license_id,
                    LedgerEntry.assoc_id,
                    func.sum(case((LedgerEntry.event == GRANT, 1), else_=-1)),
                )
                .where(LedgerEntry.tenant_id == TENANT)
                .group_by(LedgerEntry.module_license_id, LedgerEntry.assoc_id)
            ).all()
            assert held and all(net == 0 for _, _, net in held)
    finally:
        db.dispose()
