"""``scimsrv tenant create|list|show|set|rename|suspend|resume|delete`` on both
databases: contract terms, report labels that fit them, suspension closing
the SCIM API, deletion keeping the ledger, purge removing every row; bad
input fails with one line and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from licensing_core.tables import RELEASE, LedgerEntry
from scimsrv.cli.app import app
from scimsrv.http.app import create_app
from scimsrv.services import tenants, tokens
from scimsrv.storage.tables import metadata
from tests.conftest import assert_one_line_failure
from tests.provisioning_helpers import Directory
from tests.use_cases import run, tx_of

runner = CliRunner()


@pytest.fixture
def scimsrv(database_url, monkeypatch):
    """``scimsrv ARGS`` on the test database of the backend."""
    monkeypatch.setenv("SCIMSRV_DATABASE_URL", database_url)
    for name in ("SCIMSRV_HOST", "SCIMSRV_PORT", "SCIMSRV_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    return lambda *args, **kwargs: runner.invoke(app, list(args), **kwargs)


def shown(scimsrv, tenant_id: str) -> dict:
    result = scimsrv("tenant", "show", tenant_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def acme(scimsrv, tenant_id):
    result = scimsrv("tenant", "create", tenant_id, "--name", "Acme")
    assert result.exit_code == 0, result.output
    return tenant_id


@pytest.mark.parametrize(
    "command", ["show", "set", "rename", "suspend", "resume", "delete", "list", "create"]
)
def test_every_tenant_command_has_help(command):
    result = runner.invoke(app, ["tenant", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_create_with_company_and_contract_terms_shows_them(scimsrv, tenant_id):
    result = scimsrv(
        "tenant",
        "create",
        tenant_id,
        "--name",
        "Acme",
        "--company",
        "Acme AS",
        "--contract-start",
        "2026-03-15",
        "--billing-period",
        "quarterly",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"http://127.0.0.1:8000/t/{tenant_id}/scim/v2\n"
    tenant = shown(scimsrv, tenant_id)
    assert {k: tenant[k] for k in ("name", "company", "contractStart", "billingPeriod")} == {
        "name": "Acme",
        "company": "Acme AS",
        "contractStart": "2026-03-15",
        "billingPeriod": "quarterly",
    }
    assert tenant["state"] == "active"
    assert (tenant["users"], tenant["groups"], tenant["liveTokens"]) == (0, 0, 0)
    # A quarter from the 15th of the contract's months.
    assert tenant["currentPeriod"]["start"][5:10] in {"03-15", "06-15", "09-15", "12-15"}


def test_company_name_defaults_to_the_name(scimsrv, acme):
    assert shown(scimsrv, acme)["company"] == "Acme"


def test_list_shows_every_tenant_as_table_and_json(scimsrv, acme):
    listed = json.loads(scimsrv("tenant", "list", "--format", "json").stdout)["tenants"]
    (mine,) = [t for t in listed if t["id"] == acme]
    assert mine["scimBaseUrl"] == f"http://127.0.0.1:8000/t/{acme}/scim/v2"
    assert mine["billingPeriod"] == "monthly" and mine["contractStart"] is None
    assert [t["id"] for t in listed] == sorted(t["id"] for t in listed)
    table = scimsrv("tenant", "list", env={"COLUMNS": "200"})
    assert table.exit_code == 0
    (row,) = [line for line in table.stdout.splitlines() if line.startswith(f"{acme} ")]
    assert "Acme" in row and "monthly, calendar-aligned" in row and "active" in row


def test_show_prints_a_table(scimsrv, acme):
    result = scimsrv("tenant", "show", acme, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "monthly, calendar-aligned" in result.stdout
    assert f"http://127.0.0.1:8000/t/{acme}/scim/v2" in result.stdout


def test_set_company_and_terms_then_reports_take_labels_of_the_billing_period(scimsrv, db, acme):
    result = scimsrv(
        "tenant",
        "set",
        acme,
        "--company",
        "Acme Holding AS",
        "--contract-start",
        "2026-01-01",
        "--billing-period",
        "quarterly",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "quarterly from 2026-01-01" in result.stdout
    assert shown(scimsrv, acme)["company"] == "Acme Holding AS"
    report = scimsrv("report", "usage", "--tenant", acme, "--period", "2026-Q4")
    assert report.exit_code == 0, report.output
    assert "Period 2026-Q4: 2026-10-01 to 2027-01-01 (quarterly billing" in report.stdout
    refused = scimsrv("report", "usage", "--tenant", acme, "--period", "2026-10")
    assert_one_line_failure(refused, "billing is quarterly (from 2026-01-01): use 2026-Q4")


def test_report_for_all_tenants_skips_those_billed_by_other_periods(scimsrv, acme, tenant_id):
    quarterly = f"{tenant_id}-q"
    assert (
        scimsrv(
            "tenant",
            "create",
            quarterly,
            "--contract-start",
            "2026-01-01",
            "--billing-period",
            "quarterly",
        ).exit_code
        == 0
    )
    result = scimsrv("report", "usage", "--all", "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    reported = {item["tenant"] for item in json.loads(result.stdout)}
    assert acme in reported and quarterly not in reported
    assert f"{quarterly} (quarterly)" in result.stderr


def test_terms_are_locked_once_a_period_under_them_has_ended(scimsrv, acme):
    assert (
        scimsrv(
            "tenant", "set", acme, "--contract-start", "2020-01-01", "--billing-period", "yearly"
        ).exit_code
        == 0
    )
    before = shown(scimsrv, acme)
    for args in (["--billing-period", "monthly"], ["--contract-start", "2021-01-01"]):
        result = scimsrv("tenant", "set", acme, *args)
        assert_one_line_failure(result, "its first period (2020) ended on 2021-01-01")
    assert shown(scimsrv, acme) == before
    # The company name may always change.
    assert scimsrv("tenant", "set", acme, "--company", "New AS").exit_code == 0


def test_terms_may_change_until_the_first_period_has_ended(scimsrv, acme):
    future = ["--contract-start", "2999-01-01", "--billing-period", "monthly"]
    assert scimsrv("tenant", "set", acme, *future).exit_code == 0
    result = scimsrv(
        "tenant", "set", acme, "--contract-start", "2999-02-01", "--billing-period", "half-yearly"
    )
    assert result.exit_code == 0, result.output
    tenant = shown(scimsrv, acme)
    assert (tenant["contractStart"], tenant["billingPeriod"]) == ("2999-02-01", "half-yearly")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--billing-period", "weekly"], "unknown billing period 'weekly'"),
        (["--contract-start", "2026-02-30"], "invalid contract start '2026-02-30'"),
        (["--contract-start", "15.03.2026"], "use YYYY-MM-DD"),
        (["--billing-period", "quarterly"], "set the contract start too"),
        (["--company", "x" * 256], "longer than 255 characters"),
        ([], "give --company, --contract-start or --billing-period"),
    ],
)
def test_bad_terms_fail_with_one_line_and_change_nothing(scimsrv, acme, args, reason):
    before = shown(scimsrv, acme)
    assert_one_line_failure(scimsrv("tenant", "set", acme, *args), reason)
    assert shown(scimsrv, acme) == before


@pytest.mark.parametrize(
    "args",
    [
        ["show", "no-such-tenant"],
        ["set", "no-such-tenant", "--company", "X"],
        ["rename", "no-such-tenant", "X"],
        ["suspend", "no-such-tenant"],
        ["resume", "no-such-tenant"],
        ["delete", "no-such-tenant", "--yes"],
        ["show", "Not_An_Id"],
    ],
)
def test_unknown_tenant_fails_with_one_line(scimsrv, args):
    assert_one_line_failure(scimsrv("tenant", *args), "no tenant")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--billing-period", "fortnightly"], "unknown billing period 'fortnightly'"),
        (["--billing-period", "yearly"], "set the contract start too"),
        (["--contract-start", "2026-13-01"], "invalid contract start '2026-13-01'"),
        (["--name", "n" * 256], "the name is longer than 255 characters"),
    ],
)
def test_create_with_bad_terms_creates_nothing(scimsrv, tenant_id, args, reason):
    assert_one_line_failure(scimsrv("tenant", "create", tenant_id, *args), reason)
    assert_one_line_failure(scimsrv("tenant", "show", tenant_id), "no tenant")


def test_rename_changes_the_name_never_the_id(scimsrv, acme):
    result = scimsrv("tenant", "rename", acme, "Acme Nordic")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"tenant {acme!r} is now named 'Acme Nordic'\n"
    tenant = shown(scimsrv, acme)
    assert (tenant["id"], tenant["name"], tenant["company"]) == (acme, "Acme Nordic", "Acme")


@pytest.fixture
def client(db):
    with TestClient(create_app(db=db)) as test_client:
        yield test_client


def test_suspend_closes_the_scim_api_with_403_and_resume_opens_it(scimsrv, db, acme, client):
    token = run(db, lambda tx: tokens.issue(tx, acme, "entra"))
    headers = {"Authorization": f"Bearer {token}"}
    users = f"/t/{acme}/scim/v2/Users"
    assert client.get(users, headers=headers).status_code == 200
    result = scimsrv("tenant", "suspend", acme)
    assert result.exit_code == 0, result.output
    assert f"`scimsrv tenant resume {acme}`" in result.stdout
    refused = client.get(users, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/scim+json")
    assert refused.json()["status"] == "403"
    assert "is suspended" in refused.json()["detail"]
    # A wrong token still learns nothing about the tenant.
    assert client.get(users, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert shown(scimsrv, acme)["state"] == "suspended"
    assert scimsrv("tenant", "resume", acme).stdout == f"tenant {acme!r} is active\n"
    assert client.get(users, headers=headers).status_code == 200
    assert shown(scimsrv, acme)["suspended"] is None


def ledger_releases(db, tenant_id: str) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count()).where(
                LedgerEntry.tenant_id == tenant_id, LedgerEntry.event == RELEASE
            )
        )


def rows_of(db, tenant_id: str) -> dict[str, int]:
    """Rows per table that belong to the tenant (tables without any left out)."""
    counts = {}
    with db.read() as session:
        for table in metadata.sorted_tables:
            if "tenant_id" in table.c:
                found = session.scalar(
                    select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
                )
                if found:
                    counts[table.name] = found
    return counts


@pytest.fixture
def licensed(db, tenant_id):
    """Two users holding Sales-Premium, one waiting for a seat, a rule and a token."""
    d = Directory(db, tenant_id, seats=2)
    people = [d.create_user(name) for name in ("alice", "bob", "carol")]
    d.create_group("Sales-Premium", people)
    run(db, lambda tx: tokens.issue(tx, tenant_id, "entra"))
    return d


def test_delete_releases_every_license_into_the_ledger_and_keeps_the_history(
    scimsrv, db, licensed, tenant_id
):
    assert ledger_releases(db, tenant_id) == 0
    result = scimsrv("tenant", "delete", tenant_id, "--yes")
    assert result.exit_code == 0, result.output
    assert "3 users, 1 group and 1 live token removed" in result.stdout
    released = ledger_releases(db, tenant_id)
    assert released > 0 and f"{released} licenses released" in result.stdout
    left = rows_of(db, tenant_id)
    for gone in (
        "scim_user",
        "scim_group",
        "group_member",
        "associate",
        "api_token",
        "licenseassoclink",
        "associate_plan",
        "modulelicense",
        "moduleowner",
    ):
        assert gone not in left
    for kept in ("tenant", "license_ledger", "plan_state_log", "license_set_version"):
        assert kept in left
    tenant = shown(scimsrv, tenant_id)
    assert tenant["state"] == "deleted" and tenant["suspended"] is not None
    # Reports still cover the tenant's periods from its ledger.
    report = scimsrv(
        "report", "usage", "--tenant", tenant_id, "--period", "2026-11", "--format", "json"
    )
    assert report.exit_code == 0, report.output
    sales = [p for p in json.loads(report.stdout)["plans"] if p["name"] == "Sales-Premium"]
    assert sales[0]["peak"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["tenant", "set", "{t}", "--company", "X"],
        ["tenant", "rename", "{t}", "X"],
        ["tenant", "suspend", "{t}"],
        ["tenant", "resume", "{t}"],
        ["tenant", "delete", "{t}", "--yes"],
        ["token", "issue", "{t}"],
        ["rules", "add", "{t}", "--scope", "all", "--plans", "Sales-Premium"],
    ],
)
def test_a_deleted_tenant_refuses_changes(scimsrv, licensed, tenant_id, args):
    assert scimsrv("tenant", "delete", tenant_id, "--yes").exit_code == 0
    before = shown(scimsrv, tenant_id)
    result = scimsrv(*[a.format(t=tenant_id) for a in args])
    assert_one_line_failure(result, "was deleted")
    assert shown(scimsrv, tenant_id) == before


def test_a_deleted_tenants_id_is_reused_only_after_a_purge(scimsrv, db, licensed, tenant_id):
    assert scimsrv("tenant", "delete", tenant_id, "--yes").exit_code == 0
    assert_one_line_failure(scimsrv("tenant", "create", tenant_id), "purge it")
    result = scimsrv("tenant", "delete", tenant_id, "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"tenant {tenant_id!r} purged: ")
    assert rows_of(db, tenant_id) == {}
    assert scimsrv("tenant", "create", tenant_id).exit_code == 0
    assert shown(scimsrv, tenant_id)["state"] == "active"


def test_purge_of_a_live_tenant_removes_every_row_but_operator_tokens(
    scimsrv, db, licensed, tenant_id
):
    operator = run(db, lambda tx: tokens.issue(tx, None, "ops"))
    assert scimsrv("tenant", "delete", tenant_id, "--purge", "--yes").exit_code == 0
    assert rows_of(db, tenant_id) == {}
    with db.read() as session:
        assert tokens.authenticate(tx_of(session).storage, None, operator)


def test_delete_asks_first_and_without_confirmation_changes_nothing(
    scimsrv, db, licensed, tenant_id
):
    before = rows_of(db, tenant_id)
    result = scimsrv("tenant", "delete", tenant_id, input="n\n")
    assert_one_line_failure(result, "not deleted (not confirmed; --yes confirms)")
    assert_one_line_failure(scimsrv("tenant", "delete", tenant_id), "not confirmed")
    assert rows_of(db, tenant_id) == before
    assert scimsrv("tenant", "delete", tenant_id, input="y\n").exit_code == 0


def test_a_deleted_tenant_shows_when_it_was_deleted_even_if_suspended_before(
    scimsrv, db, licensed, tenant_id
):
    suspended_at, deleted_at = datetime(2026, 11, 2), datetime(2026, 11, 3)
    run(db, tenants.suspend, tenant_id, at=suspended_at)
    run(db, tenants.delete, tenant_id, at=deleted_at)
    tenant = shown(scimsrv, tenant_id)
    assert (tenant["state"], tenant["suspended"]) == ("deleted", "2026-11-03T00:00:00")
    result = scimsrv("tenant", "resume", tenant_id)
    assert_one_line_failure(result, f"tenant {tenant_id!r} was deleted on 2026-11-03 00:00 UTC")
