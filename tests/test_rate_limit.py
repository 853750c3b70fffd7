"""The per-tenant rate limit: only the identity provider's own token spends its
allowance, and each worker allows the whole rate (scimsrv.http.rate_limit).

The rates here are so low (one token in a hundred seconds) that no bucket
refills while a test runs: every answer follows from the burst alone."""

from __future__ import annotations

from starlette.testclient import TestClient

from scimsrv.http.app import create_app
from scimsrv.services import tokens
from scimsrv.settings import Settings
from tests.scim_client import Clock, live_tenant
from tests.use_cases import run

SLOW = 0.01  # requests a second: nothing refills during a test


def statuses(client: TestClient, path: str, headers: dict[str, str], times: int) -> list[int]:
    return [client.get(path, headers=headers).status_code for _ in range(times)]


def test_requests_without_the_tenants_token_never_spend_its_allowance(db, tenant_id):
    _, scim = live_tenant(db, tenant_id, Clock())
    users = f"{scim.base}/Users"
    settings = Settings(rate_limit=SLOW, rate_burst=20)
    with TestClient(create_app(db=db, settings=settings)) as client:
        assert statuses(client, users, scim.headers, 1) == [200]
        anonymous = statuses(client, users, {}, 15)
        wrong = statuses(client, users, {"Authorization": "Bearer wrong"}, 15)
        # The token's own bucket: 20 at once, one of them spent above.
        own = statuses(client, users, scim.headers, 20)
    assert set(anonymous + wrong) == {401, 429} and anonymous.count(401) <= 2
    assert own == [200] * 19 + [429]


def test_each_worker_allows_the_whole_rate_not_a_share_of_it(db, tenant_id):
    _, scim = live_tenant(db, tenant_id, Clock())
    settings = Settings(workers=5, rate_limit=SLOW, rate_burst=10)
    with TestClient(create_app(db=db, settings=settings)) as client:
        answers = statuses(client, f"{scim.base}/Users", scim.headers, 11)
    assert answers == [200] * 10 + [429]


def test_a_token_refused_once_spends_the_unverified_allowance_again(db, tenant_id):
    _, scim = live_tenant(db, tenant_id, Clock())
    users = f"{scim.base}/Users"
    settings = Settings(rate_limit=SLOW, rate_burst=10)  # one unverified request at once
    with TestClient(create_app(db=db, settings=settings)) as client:
        assert statuses(client, users, scim.headers, 2) == [200, 200]
        run(
            db,
            lambda tx: tokens.revoke(
                tx, tenant_id, scim.headers["Authorization"][7:][: tokens.PREFIX_LENGTH]
            ),
        )
        assert statuses(client, users, scim.headers, 3) == [401, 429, 429]
