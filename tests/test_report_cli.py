"""``scimsrv report usage``: the same report as the library, as table, CSV and JSON,
streamed over tenants, with ``--explain`` and one-line failures."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from licensing_core.usage import usage_report
from scimsrv.cli.app import app
from tests.conftest import assert_one_line_failure
from tests.provisioning_helpers import Directory

runner = CliRunner()
AS_OF = "2027-01-01T00:00:00"
REGISTERED = datetime(2026, 9, 1)


@pytest.fixture
def history(db, database_url, tenant_id, monkeypatch):
    """alice and bob share one Sales-Premium seat; alice adds Service-Essentials."""
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    d = Directory(db, tenant_id, seats={"Sales-Premium": 1, "Service-Essentials": 3}, at=REGISTERED)
    d.clock = datetime(2026, 9, 28)
    alice, bob = d.create_user("alice"), d.create_user("bob")
    d.create_group("Sales-Premium", [alice, bob])
    d.clock = datetime(2026, 10, 12)
    d.create_group("Service-Essentials", [alice])
    d.clock = datetime(2026, 10, 20)
    d.set_active(alice, False)
    return d


def report(*args: str):
    return runner.invoke(app, ["report", "usage", *args, "--as-of", AS_OF])


def test_report_usage_has_help():
    result = runner.invoke(app, ["report", "usage", "--help"])
    assert result.exit_code == 0
    assert "--explain" in result.output and "--period" in result.output


def test_table_shows_plans_combinations_billable_and_pending_users(history, tenant_id):
    result = report("--tenant", tenant_id, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Tenant {tenant_id}" in out
    assert "Period 2026-10: 2026-10-01 to 2026-11-01 (monthly billing, complete)" in out
    assert "Sales-Premium + Service-Essentials" in out
    assert "Billable: 2 plan licenses" in out
    assert "Pending for lack of seats: 0 at period end, 1 at some time in the period" in out


def test_json_is_the_library_report(history, db, tenant_id):
    result = report("--tenant", tenant_id, "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    with db.read() as session:
        expected = usage_report(
            session, tenant_id, "2026-10", as_of=datetime.fromisoformat(AS_OF)
        ).to_json()
    assert json.loads(result.stdout) == expected


def test_csv_has_a_row_per_plan_with_the_billable_column(history, tenant_id):
    result = report("--tenant", tenant_id, "--period", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    plans = {r["name"]: r for r in rows if r["kind"] == "plan"}
    assert len(plans) == 6
    assert plans["Sales-Premium"]["billable"] == "1"
    assert plans["Sales-Premium"]["users"] == "2"
    (total,) = [r for r in rows if r["kind"] == "billable"]
    assert total["billable"] == "2"
    assert {r["period"] for r in rows} == {"2026-10"}


def test_all_streams_a_json_array_with_every_tenant(history, db, tenant_id):
    other = f"{tenant_id}-b"
    Directory(db, other, at=REGISTERED)
    result = report("--all", "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    tenants = [item["tenant"] for item in json.loads(result.stdout)]
    assert tenant_id in tenants and other in tenants
    assert tenants == sorted(tenants)


def test_explain_lists_the_users_behind_a_plan_with_grant_and_release_times(history, tenant_id):
    result = report("--tenant", tenant_id, "--period", "2026-10", "--explain", "Sales-Premium")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Sales-Premium in 2026-10 ({tenant_id}):"
    assert "alice" in lines[1] and "2026-09-28 00:00:03" in lines[1]
    assert "2026-10-20 00:00:01" in lines[1]
    assert "bob" in lines[2] and "held at period end" in lines[2]
    assert lines[-1] == "2 rows"


def test_explain_as_json_and_pending(history, tenant_id):
    result = report(
        "--tenant", tenant_id, "--period", "2026-10", "--explain", "pending", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    (bob,) = json.loads(result.stdout)
    assert bob["name"] == "bob" and bob["to"] == "2026-10-20T00:00:01"
    assert "no free seat" in bob["detail"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--tenant", "x", "--period", "2026-13"], "invalid period"),
        (["--tenant", "no-such-tenant", "--period", "2026-10"], "no tenant"),
        (["--period", "2026-10"], "--tenant ID or --all"),
        (["--all", "--period", "2026-10", "--explain", "Sales-Premium"], "needs --tenant"),
        (["--tenant", "x", "--period", "2026", "--explain", "Gold"], "unknown plan"),
        (["--tenant", "x", "--period", "2026", "--as-of", "soon"], "invalid --as-of"),
    ],
)
def test_bad_input_fails_with_one_line(database_url, monkeypatch, args, reason):
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    result = runner.invoke(app, ["report", "usage", *args])
    assert_one_line_failure(result, reason)


def test_a_quarter_asked_of_a_monthly_tenant_is_refused_naming_its_months(history, tenant_id):
    result = report("--tenant", tenant_id, "--period", "2026-Q4")
    assert_one_line_failure(
        result,
        "2026-Q4 is a quarter, but billing is monthly (calendar-aligned): use "
        "2026-10 (2026-10-01 to 2026-11-01), 2026-11 (2026-11-01 to 2026-12-01) "
        "or 2026-12 (2026-12-01 to 2027-01-01)",
    )
