"""``scimsrv rules``, ``scimsrv operator token`` and ``scimsrv tenant check`` end to end."""

from __future__ import annotations

from scimsrv.services import tokens
from tests.conftest import assert_one_line_failure


def test_rules_add_list_move_disable_remove(scimsrv):
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    added = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Essentials")
    assert added.exit_code == 0, added.stderr
    assert "1. (rule 1) all users -> Sales-Essentials (always)" in added.stdout
    second = scimsrv(
        "rules", "add", "acme", "--scope", "in-group", "--group", "Interns", "--plans", ""
    )
    assert "2. (rule 2) users in group 'Interns' -> no selection (always)" in second.stdout
    moved = scimsrv("rules", "move", "acme", "2", "1")
    assert moved.stdout.splitlines()[0].startswith("1. (rule 2)")
    disabled = scimsrv("rules", "disable", "acme", "1")
    assert "[disabled]" in disabled.stdout
    removed = scimsrv("rules", "remove", "acme", "2")
    assert "rule 2" not in scimsrv("rules", "list", "acme").stdout
    assert removed.exit_code == 0


def test_dry_run_shows_the_preview_and_changes_nothing(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv(
        "rules", "add", "acme", "--scope", "all", "--plans", "Service-Premium", "--dry-run"
    )
    assert result.exit_code == 0
    assert "0 users would change plan" in result.stdout
    assert "service-premium: 0 -> 0 / 10" in result.stdout
    assert "no rules" in scimsrv("rules", "list", "acme").stdout


def test_invalid_rule_fails_with_one_line(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Gold")
    assert_one_line_failure(result, "unknown plan 'Sales-Gold'")


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
