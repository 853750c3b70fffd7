"""``scimsrv log`` and ``scimsrv db prune-log`` on a fresh SQLite file: commands
leave one entry each naming the command and the operator, the log reads as
a table or JSON with the same filters as the admin API, bad values fail in
one line."""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_failure


@pytest.fixture
def acme(scimsrv):
    """A tenant with a token and an applied rule, made with the CLI."""
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    token = scimsrv("token", "issue", "acme", "--label", "entra").stdout.strip()
    added = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Premium")
    assert added.exit_code == 0, added.output
    dry = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "", "--dry-run")
    assert dry.exit_code == 0, dry.output
    return token


def logged(scimsrv, *args: str) -> dict:
    result = scimsrv("log", "acme", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_each_command_leaves_one_entry_naming_it_and_the_operator(scimsrv, acme):
    page = logged(scimsrv)
    assert [e["request"] for e in page["entries"]] == [
        {"command": "scimsrv rules add"},
        {"command": "scimsrv token issue"},
        {"command": "scimsrv tenant create"},
    ]
    assert all(e["actor"].startswith("cli ") for e in page["entries"])
    rule, issued, created = page["entries"]
    assert [r["rule"] for r in rule["changes"]["rules"]["after"]] == [
        "all users -> Sales-Premium (always)"
    ]
    assert issued["changes"]["token"] == {"issued": acme[:16], "label": "entra"}
    assert created["changes"]["tenant"]["created"] == "acme"
    assert acme not in json.dumps(page)


def test_the_table_shows_who_what_and_when(scimsrv, acme):
    result = scimsrv("log", "acme", "--count", "2", COLUMNS="200")
    assert result.exit_code == 0, result.output
    assert "scimsrv rules add" in result.stdout and "scimsrv token issue" in result.stdout
    assert "all users -> Sales-Premium (always)" in result.stdout
    assert "scimsrv tenant create" not in result.stdout
    assert "2 of 3 entries; older: --cursor " in result.stdout
    cursor = result.stdout.rsplit("--cursor ", 1)[1].split()[0]
    older = scimsrv("log", "acme", "--cursor", cursor, COLUMNS="200")
    assert "scimsrv tenant create" in older.stdout and "1 of 3 entries" in older.stdout


def test_filters_narrow_the_log(scimsrv, acme):
    assert logged(scimsrv, "--user", "nobody@example.com")["entries"] == []
    assert logged(scimsrv, "--since", "2999-01-01")["totalResults"] == 0
    assert logged(scimsrv, "--until", "2999-01-01T00:00:00+02:00")["totalResults"] == 3


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--since", "yesterday"], "neither an ISO 8601 date or time"),
        (["--count", "5000"], "count must be between 1 and 1000"),
        (["--cursor", "@@"], "the cursor is not valid"),
    ],
)
def test_bad_values_fail_in_one_line(scimsrv, acme, args, reason):
    assert_one_line_failure(scimsrv("log", "acme", *args), reason)


def test_an_unknown_tenant_fails_in_one_line(scimsrv, acme):
    assert_one_line_failure(scimsrv("log", "nobody"), "no tenant 'nobody'")


def test_prune_keeps_what_the_retention_keeps(scimsrv, acme):
    kept = scimsrv("db", "prune-log")
    assert kept.exit_code == 0, kept.output
    assert kept.stdout.strip() == "0 audit log entries older than 365 days deleted"
    assert scimsrv("db", "prune-log", "--days", "0").stdout.strip() == "kept all"
    assert logged(scimsrv)["totalResults"] == 3
    bad = scimsrv("db", "prune-log", "--days", "-1")
    assert bad.exit_code != 0


def test_a_retention_beyond_a_century_is_one_error_line(scimsrv):
    """More days than dates can reach back is refused, not a traceback, from
    the option and from the setting alike."""
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    for days in ("3000000000", "36501"):
        result = scimsrv("db", "prune-log", "--days", days)
        assert_one_line_failure(result, "36500", exit_code=2)
    result = scimsrv("db", "prune-log", SCIMSRV_AUDIT_RETENTION_DAYS="1000000")
    assert_one_line_failure(result, "SCIMSRV_AUDIT_RETENTION_DAYS")
    assert scimsrv("db", "prune-log", "--days", "36500").exit_code == 0
