"""``scimsrv rules``, ``scimsrv operator token`` and ``scimsrv tenant check`` end to end."""

from __future__ import annotations

from licensing_core.db import Database
from scimsrv.services import tokens, users
from tests.conftest import assert_one_line_failure, table_rows
from tests.use_cases import run, user_resource


def hold_nothing(database_file: str, tenant_id: str, user_name: str) -> None:
    """A SCIM user in no group: it holds no plan."""
    db = Database.from_url(database_file)
    try:
        run(db, lambda tx: users.create_user(tx, user_resource({"userName": user_name})), tenant_id)
    finally:
        db.dispose()


def test_rules_add_list_move_disable_remove(scimsrv):
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    added = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Essentials")
    assert added.exit_code == 0, added.stderr
    rows = table_rows(added.stdout)
    assert rows[:2] == [
        ["#", "rule", "applies", "state"],
        ["1", "1", "all users -> Sales-Essentials (always)", "enabled"],
    ]
    second = scimsrv(
        "rules", "add", "acme", "--scope", "in-group", "--group", "Interns", "--plans", ""
    )
    assert [
        "2",
        "2",
        "users in group 'Interns' -> no selection (always)",
        "enabled",
    ] in table_rows(second.stdout)
    moved = scimsrv("rules", "move", "acme", "2", "1")
    assert table_rows(moved.stdout)[1][:2] == ["1", "2"]
    disabled = scimsrv("rules", "disable", "acme", "1")
    assert table_rows(disabled.stdout)[2] == [
        "2",
        "1",
        "all users -> Sales-Essentials (always)",
        "disabled",
    ]
    removed = scimsrv("rules", "remove", "acme", "2")
    assert [row[1] for row in table_rows(scimsrv("rules", "list", "acme").stdout)] == [
        "rule",
        "1",
    ]
    assert removed.exit_code == 0


def test_dry_run_shows_the_preview_and_changes_nothing(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv(
        "rules", "add", "acme", "--scope", "all", "--plans", "Service-Premium", "--dry-run"
    )
    assert result.exit_code == 0
    assert "0 users would change plans or state" in result.stdout
    assert ["module", "in use before", "after", "bought"] in table_rows(result.stdout)
    assert ["service-premium", "0", "0", "10"] in table_rows(result.stdout)
    assert "no rules" in scimsrv("rules", "list", "acme").stdout


def test_preview_counts_users_in_the_singular_and_warns_about_rules_that_match_nothing(
    scimsrv, database_file
):
    scimsrv("tenant", "create", "acme")
    hold_nothing(database_file, "acme", "anna")
    result = scimsrv(
        "rules", "add", "acme", "--scope", "all", "--role", "admin", "--plans", "Sales-Premium"
    )
    assert "1 user changed plans or state" in result.stdout.splitlines()
    header = ["user", "plans before", "state before", "plans after", "state after", "reason"]
    assert header in table_rows(result.stdout)
    assert ["anna", "(none)", "none", "Sales-Premium", "licensed"] in table_rows(result.stdout)
    assert "warning: rule 1 is for all users: 'admin' is ignored" in result.stderr
    grouped = scimsrv(
        "rules", "add", "acme", "--scope", "in-group", "--group", "Nobody", "--dry-run"
    )
    assert (
        "warning: rule 2 names group 'Nobody', but no group of the tenant has that "
        "displayName (yet)"
    ) in grouped.stderr.splitlines()


def test_invalid_rule_fails_with_one_line(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Gold")
    assert_one_line_failure(result, "unknown plan 'Sales-Gold'")


def test_a_bad_option_value_is_one_error_line_with_exit_code_2(scimsrv):
    result = scimsrv("rules", "add", "acme", "--scope", "all", "--position", "abc")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: invalid value for '--position' (env var: 'SCIMSRV_RULES_ADD_POSITION'): Input "
        "should be a valid integer, unable to parse string as an integer "
        "(see 'scimsrv rules add --help')\n"
    )


def test_rules_of_an_unknown_tenant_fail_with_one_line(scimsrv):
    assert_one_line_failure(scimsrv("rules", "list", "nobody"), "no tenant 'nobody'")


def test_tenant_check_reports_a_consistent_tenant(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("tenant", "check", "acme")
    assert result.exit_code == 0 and "is consistent" in result.stdout


def test_operator_tokens_are_issued_listed_and_revoked(scimsrv):
    secret = scimsrv("operator", "token", "issue", "--label", "ops").stdout.strip()
    assert len(secret) >= 40
    listed = scimsrv("operator", "token", "list").stdout
    shown = secret[: tokens.PREFIX_LENGTH]
    assert shown in listed and secret not in listed
    revoked = scimsrv("operator", "token", "revoke", shown)
    assert revoked.exit_code == 0 and "revoked operator token" in revoked.stdout
