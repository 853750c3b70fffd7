"""The ``scimsrv`` CLI end to end on a fresh SQLite file: any order works on a new machine."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from licensing_core.db import Database
from licensing_core.tables import ModuleLicense
from scimsrv.cli.app import app
from scimsrv.services import tokens
from scimsrv.storage import schema
from scimsrv.storage.tables import ApiToken
from tests.conftest import assert_one_line_failure, table_rows
from tests.use_cases import tx_of

runner = CliRunner()


def with_db(url: str):
    return Database.from_url(url)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["tenant"],
        ["tenant", "create"],
        ["tenant", "list"],
        ["token"],
        ["token", "issue"],
        ["token", "list"],
        ["token", "revoke"],
    ],
)
def test_every_command_has_help(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def test_tenant_create_prints_base_url_and_installs_the_default_license_set(scimsrv, database_file):
    result = scimsrv("tenant", "create", "acme", "--name", "Acme AS")
    assert result.exit_code == 0, result.output
    assert result.stdout == "http://127.0.0.1:8000/t/acme/scim/v2\n"
    db = with_db(database_file)
    try:
        with db.read() as session:
            modules = session.scalar(select(func.count()).where(ModuleLicense.tenant_id == "acme"))
    finally:
        db.dispose()
    assert modules > 0


def test_base_url_follows_host_port_and_public_url_settings(scimsrv):
    result = scimsrv("tenant", "create", "acme", SCIMSRV_HOST="10.0.0.5", SCIMSRV_PORT="9000")
    assert result.stdout == "http://10.0.0.5:9000/t/acme/scim/v2\n"
    result = scimsrv("tenant", "list", "--format", "json", SCIMSRV_PUBLIC_URL="https://x.example/")
    assert json.loads(result.stdout)["tenants"][0]["scimBaseUrl"] == (
        "https://x.example/t/acme/scim/v2"
    )


def test_base_url_without_public_url_says_it_assumes_the_listen_address(scimsrv):
    result = scimsrv("tenant", "create", "acme")
    assert result.stdout == "http://127.0.0.1:8000/t/acme/scim/v2\n"
    assert result.stderr == (
        "note: base URLs assume the server listens on 127.0.0.1:8000 (SCIMSRV_HOST, "
        "SCIMSRV_PORT; by default 127.0.0.1:8000); set SCIMSRV_PUBLIC_URL to the URL "
        "identity providers reach\n"
    )


def test_tenant_list_shows_every_tenant(scimsrv):
    assert json.loads(scimsrv("tenant", "list", "--format", "json").stdout) == {"tenants": []}
    scimsrv("tenant", "create", "beta")
    scimsrv("tenant", "create", "alpha", "--name", "Alpha Inc")
    result = scimsrv("tenant", "list", "--format", "json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)["tenants"]
    assert [(t["id"], t["name"], t["scimBaseUrl"]) for t in listed] == [
        ("alpha", "Alpha Inc", "http://127.0.0.1:8000/t/alpha/scim/v2"),
        ("beta", "", "http://127.0.0.1:8000/t/beta/scim/v2"),
    ]
    table = scimsrv("tenant", "list").stdout
    assert table.index("alpha") < table.index("beta") and "Alpha Inc" in table


def test_duplicate_tenant_fails_with_one_line(scimsrv):
    scimsrv("tenant", "create", "acme")
    assert_one_line_failure(scimsrv("tenant", "create", "acme"), "already exists")


@pytest.mark.parametrize("bad", ["Acme", "-acme", "acme_1", "a" * 64, "acme/x", "ø"])
def test_invalid_tenant_id_fails_with_one_line(scimsrv, bad):
    assert_one_line_failure(scimsrv("tenant", "create", "--", bad), "invalid tenant id")


def test_token_issue_prints_only_a_token_that_authenticates(scimsrv, database_file):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("token", "issue", "acme", "--label", "entra")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert len(secret) >= 43
    db = with_db(database_file)
    try:
        with db.read() as session:
            assert tokens.authenticate(tx_of(session).storage, "acme", secret)
            stored = session.scalars(select(ApiToken.token_hash)).all()
    finally:
        db.dispose()
    assert secret not in stored


def test_token_list_shows_prefix_and_label_never_the_secret(scimsrv):
    scimsrv("tenant", "create", "acme")
    secret = scimsrv("token", "issue", "acme", "--label", "entra").stdout.strip()
    result = scimsrv("token", "list", "acme")
    assert result.exit_code == 0
    header, row = table_rows(result.stdout)
    assert header == ["id", "prefix", "created", "revoked", "label"]
    token_id, prefix, _created, revoked, label = row
    assert (token_id, prefix, revoked, label) == ("1", secret[: tokens.PREFIX_LENGTH], "-", "entra")
    assert secret not in result.stdout


def test_token_revoke_stops_the_token(scimsrv, database_file):
    scimsrv("tenant", "create", "acme")
    secret = scimsrv("token", "issue", "acme").stdout.strip()
    result = scimsrv("token", "revoke", "acme", secret[: tokens.PREFIX_LENGTH])
    assert result.exit_code == 0, result.output
    db = with_db(database_file)
    try:
        with db.read() as session:
            assert not tokens.authenticate(tx_of(session).storage, "acme", secret)
    finally:
        db.dispose()
    assert table_rows(scimsrv("token", "list", "acme").stdout)[1][3] != "-"
    assert_one_line_failure(
        scimsrv("token", "revoke", "acme", secret[: tokens.PREFIX_LENGTH]), "no live token"
    )


def test_token_revoke_cannot_reach_another_tenants_token(scimsrv):
    scimsrv("tenant", "create", "acme")
    scimsrv("tenant", "create", "other")
    secret = scimsrv("token", "issue", "other").stdout.strip()
    result = scimsrv("token", "revoke", "acme", secret[: tokens.PREFIX_LENGTH])
    assert_one_line_failure(result, "no live token")


@pytest.mark.parametrize(
    "args",
    [
        ["token", "issue", "ghost"],
        ["token", "list", "ghost"],
        ["token", "revoke", "ghost", "abcdefgh"],
    ],
)
def test_token_commands_on_unknown_tenant_fail_with_one_line(scimsrv, args):
    assert_one_line_failure(scimsrv(*args), "no tenant 'ghost'")


@pytest.mark.parametrize(
    "first",
    [
        ["tenant", "list"],
        ["token", "issue", "ghost"],
        ["token", "list", "ghost"],
        ["tenant", "create", "acme"],
    ],
)
def test_any_command_first_migrates_a_fresh_database(scimsrv, database_file, first):
    scimsrv(*first)
    db = with_db(database_file)
    try:
        assert schema.current_revision(db.engine) == schema.head_revision(db.engine)
    finally:
        db.dispose()


def test_db_upgrade_reports_the_revision(scimsrv):
    result = scimsrv("db", "upgrade")
    assert result.exit_code == 0
    assert result.stdout.startswith("database at revision ")


def test_unreachable_database_fails_with_one_line(scimsrv, tmp_path):
    url = f"sqlite:///{tmp_path}/missing-dir/x.db"
    assert_one_line_failure(scimsrv("tenant", "list", SCIMSRV_DATABASE_URL=url), "database")


def test_bad_setting_fails_with_one_line(scimsrv):
    result = scimsrv("tenant", "list", SCIMSRV_PORT="eighty")
    assert_one_line_failure(result, "SCIMSRV_PORT")


def test_reading_commands_work_while_another_process_writes_sqlite(scimsrv, database_file):
    """A SQLite writer holds the database's write lock (``BEGIN IMMEDIATE``):
    commands that only read answer at once instead of waiting for it and
    failing with "database is locked" (they used to take the write lock to
    check the schema); one that writes gives up with the one busy line."""
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    writer = sqlite3.connect(make_url(database_file).database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        for args in (["tenant", "show", "acme"], ["tenant", "check", "acme"], ["users", "acme"]):
            result = scimsrv(*args, SCIMSRV_LOCK_TIMEOUT="0.2")
            assert result.exit_code == 0, (args, result.output)
        result = scimsrv("tenant", "rename", "acme", "Acme", SCIMSRV_LOCK_TIMEOUT="0.2")
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == ["error: the database is busy; try again"]
    finally:
        writer.rollback()
        writer.close()
