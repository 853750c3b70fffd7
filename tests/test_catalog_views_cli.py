"""``scimsrv users``, ``scimsrv groups`` and ``scimsrv plans``: rich tables and the
admin API's JSON, paged through in chunks, with one-line failures."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from licensing_core.plan_catalog import default_plan_catalog
from licensing_core.plans import LISTED_COMBINATIONS
from scimsrv.cli import directory
from scimsrv.cli.app import app
from scimsrv.http.app import create_app
from scimsrv.provisioning.reasons import DEACTIVATED, NOTHING
from scimsrv.services import tokens
from tests.conftest import assert_one_line_failure
from tests.provisioning_helpers import Directory
from tests.use_cases import run

runner = CliRunner()
SHORT = "Sales-Premium: no free seat on module 'sales-premium': 1 needed, 0 free"


@pytest.fixture
def cli(database_url, monkeypatch):
    """``cli(*args)``: scimsrv on the test database, on a terminal wide enough
    that no cell wraps."""
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "400")
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def people(db, tenant_id):
    """alice holds the one Sales-Premium seat, bob waits for it, carol is
    deactivated, dave's group only looks like a plan, erin's grants nothing."""
    d = Directory(db, tenant_id, seats={"Sales-Premium": 1})
    alice, bob = d.create_user("alice"), d.create_user("bob")
    carol = d.create_user("carol", active=False)
    dave, erin = d.create_user("dave"), d.create_user("erin")
    d.create_group("Sales-Premium", [alice, bob, carol])
    d.create_group("Sales Premium", [dave])
    d.create_group("Engineering", [erin])
    return d


def rows(output: str) -> dict[str, str]:
    """Table lines by their first cell."""
    return {line.split()[0]: line for line in output.splitlines() if line.strip()}


@pytest.mark.parametrize("command", ["users", "groups", "plans"])
def test_every_command_has_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "--format" in result.stdout


def test_users_table_shows_state_plans_groups_and_why(cli, people, tenant_id):
    result = cli("users", tenant_id)
    assert result.exit_code == 0, result.output
    lines = rows(result.stdout)
    assert "licensed" in lines["alice"] and "through group 'Sales-Premium'" in lines["alice"]
    assert "pending" in lines["bob"] and SHORT in lines["bob"]
    assert "none" in lines["carol"] and DEACTIVATED in lines["carol"]
    assert "did you mean 'Sales-Premium'?" in lines["dave"]
    assert "Engineering" in lines["erin"] and NOTHING in lines["erin"]
    assert result.stdout.rstrip().endswith("5 users")


def test_users_filter_by_state_and_plan(cli, people, tenant_id):
    pending = cli("users", tenant_id, "--state", "pending", "--format", "json")
    assert [u["userName"] for u in json.loads(pending.stdout)["users"]] == ["bob"]
    holders = cli("users", tenant_id, "--plan", "Sales-Premium", "--state", "licensed")
    assert "alice" in holders.stdout and "bob" not in holders.stdout
    assert holders.stdout.rstrip().endswith("1 user")


@pytest.mark.parametrize("command", ["users", "groups"])
def test_json_is_the_admin_apis_document_of_one_page_of_everything(
    cli, people, db, tenant_id, command, monkeypatch
):
    monkeypatch.setattr(directory, "CHUNK", 2)
    result = cli(command, tenant_id, "--format", "json")
    assert result.exit_code == 0, result.output
    token = run(db, lambda tx: tokens.issue(tx, None, "views"))
    with TestClient(create_app(db=db)) as client:
        api = client.get(
            f"/admin/v1/tenants/{tenant_id}/{command}?count=1000",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert api.status_code == 200, api.text
    assert json.loads(result.stdout) == api.json()
    assert api.json()["totalResults"] == len(api.json()[command]) > 2


def test_users_are_read_a_chunk_at_a_time_and_printed_whole(cli, people, tenant_id, monkeypatch):
    monkeypatch.setattr(directory, "CHUNK", 2)
    table = cli("users", tenant_id)
    assert table.exit_code == 0, table.output
    assert table.stdout.count("Requested") == 1  # one header for three chunks
    assert list(rows(table.stdout))[1:6] == ["alice", "bob", "carol", "dave", "erin"]
    listed = json.loads(cli("users", tenant_id, "--format", "json").stdout)["users"]
    assert [u["userName"] for u in listed] == ["alice", "bob", "carol", "dave", "erin"]


def test_an_empty_listing_is_a_header_and_zero(cli, db, tenant_id):
    Directory(db, tenant_id)
    result = cli("users", tenant_id, "--state", "pending")
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("0 users")
    assert json.loads(cli("users", tenant_id, "--format", "json").stdout) == {
        "users": [],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
    }


def test_groups_show_what_they_grant_or_why_not(cli, people, tenant_id):
    table = cli("groups", tenant_id)
    assert table.exit_code == 0, table.output
    lines = rows(table.stdout)
    assert "Sales-Premium (its name)" in lines["Sales-Premium"]
    assert "not a plan name; no rule names it" in lines["Engineering"]
    assert table.stdout.rstrip().endswith("3 groups")
    listed = json.loads(cli("groups", tenant_id, "--format", "json").stdout)["groups"]
    assert [(g["displayName"], g["members"]) for g in listed] == [
        ("Engineering", 1),
        ("Sales Premium", 1),
        ("Sales-Premium", 3),
    ]


@pytest.mark.parametrize("command", ["users", "groups"])
def test_an_unknown_tenant_fails_with_one_line(cli, command):
    assert_one_line_failure(cli(command, "nobody"), "no tenant 'nobody'")


def test_an_unknown_plan_fails_with_one_line(cli, people, tenant_id):
    assert_one_line_failure(cli("users", tenant_id, "--plan", "Sales-Gold"), "unknown plan")


def test_plans_table_shows_plans_features_and_the_26_combinations(cli):
    result = cli("plans")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Plans of the default license set" in out
    assert "Features of every plan (en)" in out and "Marketing (en)" in out
    assert "Marketing automation (flows)" in out
    numbered = re.findall(r"^ *(\d+) +(\S.*?\S) {2,}\d+ *$", out, re.MULTILINE)
    assert numbered == [(str(i), c.name) for i, c in enumerate(LISTED_COMBINATIONS, start=1)]


def test_plans_in_german(cli):
    result = cli("plans", "--lang", "de")
    assert "Features of every plan (de)" in result.stdout
    assert "Marketing Automation (Workflows)" in result.stdout


def test_plans_json_is_the_admin_apis_catalog(cli):
    every = json.loads(cli("plans", "--format", "json").stdout)
    assert every == default_plan_catalog().to_json()
    dutch = json.loads(cli("plans", "--format", "json", "--lang", "nl").stdout)
    assert dutch == default_plan_catalog().to_json(("nl",))


def test_plans_of_a_tenant_and_of_an_unknown_one(cli, db, tenant_id):
    Directory(db, tenant_id)
    result = cli("plans", "--tenant", tenant_id)
    assert f"Plans of the license set of tenant '{tenant_id}'" in result.stdout
    assert_one_line_failure(cli("plans", "--tenant", "nobody"), "no tenant 'nobody'")


def test_piped_tables_keep_each_row_on_one_line_uncut(cli, people, tenant_id, monkeypatch):
    """A CliRunner is no terminal, as ``scimsrv users T | cat``: however narrow
    COLUMNS says the screen is, every row is one line and no cell is cut."""
    monkeypatch.setenv("COLUMNS", "60")
    users = cli("users", tenant_id).stdout.splitlines()
    assert len(users) == 1 + 5 + 1 and users[-1] == "5 users"
    [bob] = [line for line in users if line.startswith("bob ")]
    assert SHORT in bob and "Sales-Premium" in bob.split()
    groups = cli("groups", tenant_id).stdout.splitlines()
    assert len(groups) == 1 + 3 + 1 and groups[-1] == "3 groups"
    assert "not a plan name; no rule names it" in groups[1]
    plans = cli("plans").stdout
    implied = ", ".join(default_plan_catalog().plans[1].licenses)
    assert re.search(rf"^Sales-Premium +sales-premium +{implied}$", plans, re.MULTILINE)
    for output in (users, groups, plans.splitlines()):
        assert not any("…" in line for line in output)
