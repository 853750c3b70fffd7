"""The command line's habits: every failure one ``error:`` line (click's usage
errors too), help that shows every option's default and environment variable
with nothing swallowed, warnings said once, counted nouns in the right number,
a progress bar only on a terminal."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from licensing_core import signing, verification
from licensing_core.plural import plural
from licensing_core.signing import TEST_KEY_WARNING
from scimsrv.cli.app import app
from tests.conftest import assert_one_line_failure

runner = CliRunner()


@pytest.fixture
def database_file(backend, fresh_database_url) -> str:
    """Here the commands run on a fresh SQLite file and a fresh PostgreSQL database."""
    return fresh_database_url(backend)


def help_of(*path: str):
    """``scimsrv PATH --help`` (no database needed)."""
    return runner.invoke(app, [*path, "--help"], prog_name="scimsrv")


def commands(group=None, path=()):
    """Every command of ``scimsrv`` as (path, click command)."""
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def envvar_of(path: tuple[str, ...], option) -> str:
    """``serve``'s options read the settings (SCIMSRV_PORT); any other option
    SCIMSRV_<COMMAND>_<OPTION>, by the option's name as typed."""
    name = max(option.opts, key=len).lstrip("-")
    words = ["SCIMSRV", name] if path == ("serve",) else ["SCIMSRV", *path, name]
    return "_".join(words).replace("-", "_").upper()


def flat(text: str) -> str:
    return " ".join(text.split())


def unwrapped(text: str) -> str:
    """``text`` without any white space (help wraps lines after hyphens too)."""
    return "".join(text.split())


COMMANDS = list(commands())


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS]
)
def test_help_shows_every_option_with_its_environment_variable_and_whole_text(path, command):
    result = help_of(*path)
    assert result.exit_code == 0, result.output
    shown = unwrapped(result.stdout)
    assert "╭" not in result.stdout  # plain text, no panels
    for param in command.params:
        if param.hidden or param.name == "help":
            continue
        if param.help:
            assert unwrapped(param.help) in shown, param.name
        if param.param_type_name == "option":
            assert unwrapped(f"env var: {envvar_of(path, param)}") in shown, param.name


def test_help_shows_defaults():
    shown = flat(help_of("serve").stdout)
    assert "[env var: SCIMSRV_HOST; default: 127.0.0.1]" in shown
    assert "[env var: SCIMSRV_PORT; default: 8000; 1<=x<=65535]" in shown
    assert "[env var: SCIMSRV_WORKERS; default: 1; x>=1]" in shown
    assert "[env var: SCIMSRV_RATE_LIMIT; default: 100.0; x>=0]" in shown
    assert "[env var: SCIMSRV_RATE_BURST; default: 300.0; x>=1]" in shown
    assert "default: always" in flat(help_of("rules", "add").stdout)


def test_tenant_create_help_keeps_the_id_rule():
    shown = flat(help_of("tenant", "create").stdout)
    assert (
        "New tenant id: 1-63 lower-case letters, digits and '-', starting with a letter or "
        "digit. [required]"
    ) in shown


def test_an_option_value_is_read_from_its_environment_variable(scimsrv):
    scimsrv("tenant", "create", "acme", SCIMSRV_TENANT_CREATE_NAME="Acme AS")
    assert "Acme AS" in scimsrv("tenant", "list").stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["tenant", "create"],
            "error: missing argument 'TENANT' (see 'scimsrv tenant create --help')",
        ),
        (
            ["tenant", "create", "acme", "--colour", "red"],
            "error: no such option: --colour (see 'scimsrv tenant create --help')",
        ),
        (["tenants"], "error: no such command 'tenants'"),
        (
            ["serve", "--port", "0"],
            "error: invalid value for '--port' (env var: 'SCIMSRV_PORT'): Input should be "
            "greater than or equal to 1 (see 'scimsrv serve --help')",
        ),
        (
            ["tenant", "list", "--format", "x"],
            "error: invalid value for '--format' (env var: 'SCIMSRV_TENANT_LIST_FORMAT'): 'x' "
            "is not one of 'table', 'json' (see 'scimsrv tenant list --help')",
        ),
        (
            ["log", "acme", "--user"],
            "error: option '--user' requires an argument (see 'scimsrv log --help')",
        ),
        (
            ["tenant", "rename", "acme", "x", "--cursor", "1"],
            "error: no such option: --cursor (see 'scimsrv tenant rename --help')",
        ),
        (
            ["rules", "move", "acme", "first", "2"],
            "error: invalid value for 'RULE': Input should be a valid integer, unable to parse "
            "string as an integer (see 'scimsrv rules move --help')",
        ),
    ],
)
def test_a_command_line_that_does_not_parse_is_one_error_line_and_exit_2(args, error):
    result = runner.invoke(app, args, prog_name="scimsrv")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(error), line


def test_a_noun_alone_prints_its_help():
    result = runner.invoke(app, ["tenant"], prog_name="scimsrv")
    assert result.exit_code == 2
    assert "Commands:" in result.stderr and "error:" not in result.stderr


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (
            "mysql://user:secret@db.example.com/crm",
            "error: bad SCIMSRV_DATABASE_URL: unsupported database 'mysql': use "
            "sqlite:///PATH or postgresql://USER@HOST/DATABASE",
        ),
        (
            "postgresql+asyncpg://user@db.example.com/crm",
            "error: bad SCIMSRV_DATABASE_URL: its database driver is not installed (asyncpg)",
        ),
        *(
            (
                memory,
                "error: bad SCIMSRV_DATABASE_URL: an in-memory SQLite database is not shared "
                "between workers and commands: use a file, sqlite:///PATH",
            )
            for memory in (
                "sqlite://",
                "sqlite:///:memory:",
                "sqlite:///",
                "sqlite+pysqlite:///:memory:",
                "sqlite:///file::memory:?uri=true",
                "sqlite:///file:shared?mode=memory&cache=shared&uri=true",
            )
        ),
    ],
)
def test_an_unsupported_database_url_is_one_error_line(scimsrv, url, error):
    result = scimsrv("tenant", "list", SCIMSRV_DATABASE_URL=url)
    assert_one_line_failure(result, error)
    assert result.stderr == error + "\n"
    assert "secret" not in result.output


def test_the_test_key_warning_is_said_once_even_when_the_library_logs_it_too(scimsrv, monkeypatch):
    scimsrv("tenant", "create", "acme")
    # As in a command's own process: no signature verified yet, so the library logs it.
    monkeypatch.setattr(signing, "_verified", {})
    monkeypatch.setattr(verification, "_verdicts", {})
    result = scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Premium")
    assert result.exit_code == 0, result.output
    assert result.stderr.count(TEST_KEY_WARNING) == 1
    assert f"warning: {TEST_KEY_WARNING}" in result.stderr.splitlines()


def test_license_show_under_vendor_keys_says_the_test_key_is_not_trusted_and_no_more(
    scimsrv, tmp_path
):
    keys = tmp_path / "vendor"
    scimsrv("license", "keygen", "--out", str(keys))
    vendor = {"SCIMSRV_LICENSE_PUBLIC_KEYS": str(keys / "license-public-keys.json")}
    scimsrv("tenant", "create", "acme", **vendor)
    shown = scimsrv("license", "show", "acme", **vendor)
    assert shown.exit_code == 0, shown.output
    assert "which this server does not trust" in shown.stdout
    assert TEST_KEY_WARNING not in shown.output
    trusted = scimsrv("license", "show", "acme")
    assert f"warning: {TEST_KEY_WARNING}" in trusted.stderr.splitlines()


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "on"])
def test_a_trust_flag_other_than_1_0_true_false_is_one_error_line(scimsrv, value):
    result = scimsrv("tenant", "list", SCIMSRV_TRUST_TEST_LICENSE_KEY=value)
    assert_one_line_failure(
        result,
        f"error: bad setting SCIMSRV_TRUST_TEST_LICENSE_KEY: {value!r} is not 1, 0, true or "
        "false (or empty: trust the TEST key only while no vendor key is configured)",
    )
    assert "Value error" not in result.stderr


@pytest.mark.parametrize(("value", "trusted"), [("TRUE", True), (" 0 ", False), ("", True)])
def test_the_trust_flag_takes_true_and_false_too(scimsrv, value, trusted):
    result = scimsrv("tenant", "create", "acme", SCIMSRV_TRUST_TEST_LICENSE_KEY=value)
    assert result.exit_code == 0, result.output
    assert ("does not verify" not in result.stderr) is trusted


def test_an_empty_tenant_name_or_company_name_is_refused(scimsrv):
    scimsrv("tenant", "create", "acme", "--name", "Acme")
    for args, what in [
        (("tenant", "rename", "acme", ""), "the name"),
        (("tenant", "rename", "acme", "  "), "the name"),
        (("tenant", "set", "acme", "--company", ""), "the company name"),
        (("tenant", "create", "beta", "--company", ""), "the company name"),
    ]:
        assert_one_line_failure(scimsrv(*args), f"error: {what} cannot be empty")
    listed = scimsrv("tenant", "list", "--format", "json").stdout
    assert [(t["id"], t["name"], t["company"]) for t in json.loads(listed)["tenants"]] == [
        ("acme", "Acme", "Acme")
    ]


def test_a_billing_period_needs_a_contract_start_unless_monthly_as_help_says(scimsrv):
    for command in ("create", "set"):
        assert "all but monthly need a contract start" in flat(help_of("tenant", command).stdout)
    scimsrv("tenant", "create", "acme")
    monthly = scimsrv("tenant", "set", "acme", "--billing-period", "monthly")
    assert monthly.exit_code == 0, monthly.output
    assert "monthly, calendar-aligned" in monthly.stdout
    assert_one_line_failure(
        scimsrv("tenant", "set", "acme", "--billing-period", "quarterly"),
        "billing periods align to the contract start: set the contract start too",
    )


def test_tenant_create_warns_when_its_default_set_will_not_verify(scimsrv, tmp_path):
    keys = tmp_path / "vendor"
    scimsrv("license", "keygen", "--out", str(keys))
    vendor = {"SCIMSRV_LICENSE_PUBLIC_KEYS": str(keys / "license-public-keys.json")}
    result = scimsrv(
        "tenant", "create", "acme", SCIMSRV_PUBLIC_URL="https://scim.example", **vendor
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "https://scim.example/t/acme/scim/v2\n"
    assert result.stderr == (
        "warning: tenant acme's default license set does not verify here, so no license of it "
        "is granted: the license set is signed with the built-in TEST key, which this server "
        "does not trust (vendor keys are configured; set SCIMSRV_TRUST_TEST_LICENSE_KEY=1 to "
        "allow it); import a vendor-signed set with `scimsrv license import acme FILE`\n"
    )
    trusting = scimsrv("tenant", "create", "beta", SCIMSRV_PUBLIC_URL="https://scim.example")
    assert "does not verify" not in trusting.stderr


def test_a_piped_log_keeps_each_entry_on_one_line(scimsrv):
    """Not a terminal (CliRunner), as ``scimsrv log T | cat``: each entry is one
    line, its lines joined with "; ", nothing wrapped or cut, however narrow
    COLUMNS says the screen is."""
    scimsrv("tenant", "create", "acme")
    scimsrv("rules", "add", "acme", "--scope", "all", "--plans", "Sales-Premium")
    result = scimsrv("log", "acme", COLUMNS="40")
    assert result.exit_code == 0, result.output
    header, rule, created, shown = result.stdout.splitlines()
    assert header.split() == ["#", "at", "(UTC)", "actor", "request", "outcome", "changes"]
    assert rule.endswith("rules: 0 -> 1; 1. all users -> Sales-Premium (always)")
    assert "scimsrv tenant create" in created and shown == "2 of 2 entries"


def test_report_over_several_tenants_shows_a_progress_bar_on_a_terminal_only(scimsrv):
    scimsrv("tenant", "create", "acme")
    scimsrv("tenant", "create", "beta")
    args = ("report", "usage", "--all", "--period", "2026-10", "--format", "csv")
    piped = scimsrv(*args)
    assert piped.exit_code == 0, piped.output
    assert piped.stderr == ""
    terminal = scimsrv(*args, TTY_COMPATIBLE="1")
    assert terminal.exit_code == 0, terminal.output
    assert "tenants" in terminal.stderr and "2/2" not in terminal.stdout
    assert terminal.stdout == piped.stdout


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 users"), (1, "1 user"), (2, "2 users"), (1, "1 inconsistency")],
)
def test_counted_nouns_take_the_number_they_need(count, text):
    noun = text.split(" ", 1)[1]
    nouns = "inconsistencies" if noun == "inconsistency" else None
    assert plural(count, noun.removesuffix("s") if nouns is None else noun, nouns) == text


def test_no_message_in_the_code_counts_with_a_hand_made_plural():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(
        r"\(s\)|'' if \w+ == 1 else 's'|\"s\" if|removesuffix\(.s.\)|== 1 else \"\w+s\""
    )
    folders = ("scimsrv/cli", "scimsrv/http/admin", "scimsrv/http/pages", "scimsrv/provisioning")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in [
            *(p for folder in folders for p in sorted((root / folder).rglob("*.py"))),
            *sorted((root / "scimsrv/http/pages/templates").glob("*.html")),
            root / "licensing_core/activation.py",
        ]
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_one_day_of_retention_is_said_in_the_singular(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("db", "prune-log", "--days", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "0 audit log entries older than 1 day deleted\n"
