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
from tests.conftest import assert_one_line_failure, table_rows
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


def report(*args: str, as_of: str = AS_OF):
    return runner.invoke(app, ["report", "usage", *args, "--as-of", as_of], prog_name="scimsrv")


def test_report_usage_has_help():
    result = runner.invoke(app, ["report", "usage", "--help"])
    assert result.exit_code == 0
    assert "--explain" in result.output and "--period" in result.output


def test_table_shows_plans_combinations_billable_and_pending_users(history, tenant_id):
    result = report(tenant_id, "--period", "2026-10")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Tenant {tenant_id}" in out
    assert "Period 2026-10: 2026-10-01 to 2026-11-01 (monthly billing, complete)" in out
    rows = table_rows(out)
    figures = ["bought", "at end", "peak", "peak day", "average", "plan-days", "users"]
    assert ["plan", *figures] in rows
    assert ["combination", *figures] in rows
    sales_premium = next(row for row in rows if row[0] == "Sales-Premium")
    assert sales_premium[:5] == ["Sales-Premium", "1", "1", "1", "1"]
    assert sales_premium[-1] == "2"
    assert "Sales-Premium + Service-Essentials" in [row[0] for row in rows]
    assert "Billable: 2 plan licenses" in out
    assert "Pending for lack of seats: 0 at period end, 1 at some time in the period" in out
    assert result.stderr == ""


def test_a_period_that_has_not_started_says_so(history, tenant_id):
    result = report(tenant_id, "--period", "2027-03", as_of="2027-01-15T00:00:00")
    assert result.exit_code == 0, result.output
    assert (
        "Period 2027-03: 2027-03-01 to 2027-04-01 (monthly billing, not started yet: "
        "nothing to count)"
    ) in result.stdout
    assert result.stderr == (
        f"warning: period 2027-03 of tenant {tenant_id} has not started yet "
        "(it starts 2027-03-01 00:00): nothing to count\n"
    )
    as_json = report(tenant_id, "--period", "2027-03", "--format", "json", as_of="2027-01-15")
    assert "has not started yet" in as_json.stderr
    assert json.loads(as_json.stdout)["tenant"] == tenant_id


def test_the_old_tenant_option_still_works(history, tenant_id):
    assert (
        report("--tenant", tenant_id, "--period", "2026-10").stdout
        == report(tenant_id, "--period", "2026-10").stdout
    )


def test_json_is_the_library_report(history, db, tenant_id):
    result = report(tenant_id, "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    with db.read() as session:
        expected = usage_report(
            session, tenant_id, "2026-10", as_of=datetime.fromisoformat(AS_OF)
        ).to_json()
    assert json.loads(result.stdout) == expected


def test_csv_has_a_row_per_plan_with_the_billable_column(history, tenant_id):
    result = report(tenant_id, "--period", "2026-10", "--format", "csv")
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
    result = report(tenant_id, "--period", "2026-10", "--explain", "Sales-Premium")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Sales-Premium in 2026-10 ({tenant_id}):"
    assert table_rows("\n".join(lines[1:-1])) == [
        ["user", "from", "to", "detail"],
        ["alice", "2026-09-28 00:00:03", "2026-10-20 00:00:01"],
        ["bob", "2026-10-20 00:00:01", "held at period end"],
    ]
    assert lines[-1] == "2 rows"


def test_explain_as_json_and_pending(history, tenant_id):
    result = report(tenant_id, "--period", "2026-10", "--explain", "pending", "--format", "json")
    assert result.exit_code == 0, result.output
    (bob,) = json.loads(result.stdout)
    assert bob["name"] == "bob" and bob["to"] == "2026-10-20T00:00:01"
    assert "no free seat" in bob["detail"]


@pytest.mark.parametrize(
    ("args", "reason", "exit_code"),
    [
        (["x", "--period", "2026-13"], "invalid period", 1),
        (["no-such-tenant", "--period", "2026-10"], "no tenant", 1),
        (["--period", "2026-10"], "error: give either TENANT or --all", 2),
        (["--all", "--period", "2026-10", "--explain", "Sales-Premium"], "needs TENANT", 2),
        (["x", "--period", "2026", "--explain", "Gold"], "unknown plan", 1),
        (["x", "--period", "2026", "--as-of", "soon"], "invalid --as-of", 1),
    ],
)
def test_bad_input_fails_with_one_line(database_url, monkeypatch, args, reason, exit_code):
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    result = runner.invoke(app, ["report", "usage", *args])
    assert_one_line_failure(result, reason, exit_code)


def test_a_quarter_asked_of_a_monthly_tenant_is_refused_naming_its_months(history, tenant_id):
    result = report(tenant_id, "--period", "2026-Q4")
    assert_one_line_failure(
        result,
        "2026-Q4 is a quarter, but billing is monthly (calendar-aligned): use "
        "2026-10 (2026-10-01 to 2026-11-01), 2026-11 (2026-11-01 to 2026-12-01) "
        "or 2026-12 (2026-12-01 to 2027-01-01)",
    )


def test_a_bad_format_is_one_error_line(database_url, monkeypatch):
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    result = runner.invoke(
        app, ["report", "usage", "x", "--period", "2026", "--format", "xml"], prog_name="scimsrv"
    )
    assert_one_line_failure(result, "error: invalid value for '--format'", exit_code=2)
    assert result.stderr.endswith("(see 'scimsrv report usage --help')\n")


def test_a_set_failing_on_every_row_is_a_few_warning_lines_not_one_per_row(scimsrv):
    """The server does not trust the key of the tenant's set: every row fails
    and the set counts no seat; the text report says so in a few lines and
    points at the JSON for the rest."""
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    result = scimsrv(
        "report", "usage", "acme", "--period", "2026-11", SCIMSRV_TRUST_TEST_LICENSE_KEY="0"
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING: ")]
    assert 2 <= len(warnings) <= 4, warnings
    assert "does not trust" in warnings[0] and "count as 0" in warnings[0]
    assert warnings[-1].startswith("WARNING: and ") and "--format json" in warnings[-1]
