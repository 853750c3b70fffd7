"""A restart serves the users who waited (issue 11.6), against the real server with
two workers on PostgreSQL: a user pending because the license set is signed with
a key the server does not trust is licensed after the server restarts trusting
it, with no request touching the user, and the check agrees."""

from __future__ import annotations

from tests.live_server import cli, live_server, scim_client, server_env, tenant_on

LICENSING = "urn:scimsrv:params:scim:schemas:extension:licensing:2.0:User"


def test_restart_with_the_key_trusted_serves_the_waiting_user(fresh_database_url, tmp_path):
    env = server_env(fresh_database_url("postgres"))
    distrusting = {**env, "SCIMSRV_TRUST_TEST_LICENSE_KEY": "0"}
    with (
        live_server(distrusting, tmp_path, workers=2) as (root, log),
        tenant_on(distrusting, root, log, "acme") as live,
    ):
        created = live.scim.post("/Users", json={"userName": "alice"})
        alice = created.json()["id"]
        body = {"displayName": "Sales-Premium", "members": [{"value": alice}]}
        assert live.scim.post("/Groups", json=body).status_code == 201
        view = live.scim.get(f"/Users/{alice}").json()[LICENSING]
        assert view["state"] == "pending" and "key" in view["reason"], view
        token = live.token

    trusting = {**env, "SCIMSRV_TRUST_TEST_LICENSE_KEY": "1"}
    with live_server(trusting, tmp_path, workers=2) as (root, log):
        with scim_client(root, "acme", token) as scim:
            view = scim.get(f"/Users/{alice}").json()[LICENSING]
        assert view["state"] == "licensed" and view["planCombination"] == "Sales-Premium"
        assert "start-up reconcile" in log.read_text()
    assert cli(trusting, "tenant", "check", "acme") == "tenant 'acme' is consistent"
