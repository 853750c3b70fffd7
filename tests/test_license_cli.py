"""``scimsrv license`` end to end on a fresh SQLite file: keygen, sign, import, show, verify."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from sqlalchemy import update

from licensing_core import signing
from licensing_core.db import Database
from licensing_core.plans import Combination
from licensing_core.tables import Associate, ModuleLicense
from tests.conftest import assert_one_line_failure, table_rows
from tests.licensing_helpers import NOW, book

DEFAULT_SPEC = str(resources.files("licensing_core").joinpath("data", "default_license_set.json"))


@pytest.fixture
def vendor(tmp_path, scimsrv):
    """A vendor key made with ``license keygen``: (private key path, public keys env value)."""
    out = tmp_path / "vendor"
    result = scimsrv("license", "keygen", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out / "license-signing-key.pem", str(out / "license-public-keys.json")


def hold(database_file, tenant, plan, names):
    """Give each new associate ``names`` the plan, as a SCIM write would."""
    db = Database.from_url(database_file)
    try:
        with db.write() as session:
            rows = [
                Associate(tenant_id=tenant, name=n, user_name=n.title(), registered=NOW)
                for n in names
            ]
            session.add_all(rows)
            session.flush()
            wanted = {row.id: Combination.parse(plan) for row in rows}
            outcomes = book(session, tenant).apply(wanted)
            assert all(outcome.complete for outcome in outcomes.values())
            return [row.id for row in rows]
    finally:
        db.dispose()


@pytest.mark.parametrize("command", ["keygen", "sign", "import", "show", "verify"])
def test_every_license_command_has_help(scimsrv, command):
    result = scimsrv("license", command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_show_on_a_fresh_tenant_lists_owner_dates_seats_and_the_verification(scimsrv):
    assert scimsrv("tenant", "create", "acme").exit_code == 0
    result = scimsrv("license", "show", "acme")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert ["owner", "SUPEROFFICE"] in rows
    assert ["expiration", "never"] in rows
    assert ["verification", "every signature holds"] in rows
    assert ["state", "active"] in rows
    assert [
        "signed with",
        f"ed25519:{signing.builtin_test_key_id()} (built-in TEST key, demo only)",
    ] in rows
    assert ["module", "version", "type", "bought", "in use", "free", "valid"] in rows
    assert ["sales-premium", "1", "plan", "10", "0", "10", "yes"] in rows


def test_the_test_key_warning_is_said_once_per_command(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("license", "show", "acme")
    assert result.stderr == f"warning: {signing.TEST_KEY_WARNING}\n"
    assert signing.TEST_KEY_WARNING not in result.stdout


def test_the_old_tenant_option_still_names_the_tenant(scimsrv):
    scimsrv("tenant", "create", "acme")
    assert scimsrv("license", "show", "--tenant", "acme").stdout == (
        scimsrv("license", "show", "acme").stdout
    )
    assert_one_line_failure(
        scimsrv("license", "show", "acme", "--tenant", "other"),
        "error: two tenants given: 'acme' and --tenant 'other'",
        exit_code=2,
    )
    assert_one_line_failure(
        scimsrv("license", "show"), "error: missing argument 'TENANT'", exit_code=2
    )


def test_verify_a_fresh_tenant_succeeds(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("license", "verify", "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"tenant acme: 40 license rows, signed with key {signing.builtin_test_key_id()}",
        "license set valid",
    ]


def test_verify_fails_with_one_line_when_a_row_was_tampered(scimsrv, database_file):
    scimsrv("tenant", "create", "acme")
    db = Database.from_url(database_file)
    with db.write() as session:
        session.execute(
            update(ModuleLicense)
            .where(ModuleLicense.tenant_id == "acme", ModuleLicense.module_name == "web")
            .values(license_number=100_000)
        )
    db.dispose()
    result = scimsrv("license", "verify", "acme")
    assert_one_line_failure(result, "license set of tenant acme is invalid")
    assert "problem: 1 signature failing; the first:" in result.stdout
    assert "license invalid: module 'web'" in result.stdout
    show = table_rows(scimsrv("license", "show", "acme").stdout)
    [verification] = [row for row in show if row[0] == "verification"]
    assert "license invalid: module 'web'" in verification[1]
    assert ["state", "invalid: licenses whose signature fails are not granted"] in show
    assert ["web", "1", "user*", "100000", "0", "100000", "NO"] in show


def test_verify_fails_when_the_test_key_is_not_trusted(scimsrv, vendor):
    scimsrv("tenant", "create", "acme")
    _, public_keys = vendor
    result = scimsrv("license", "verify", "acme", SCIMSRV_LICENSE_PUBLIC_KEYS=public_keys)
    assert_one_line_failure(
        result,
        "error: license set of tenant acme is invalid: the license set is signed with the "
        "built-in TEST key, which this server does not trust",
    )
    assert result.stdout.count("problem:") == 1


def test_keygen_sign_and_import_a_vendor_set(scimsrv, vendor, tmp_path):
    private, public_keys = vendor
    signed = tmp_path / "acme.json"
    result = scimsrv(
        "license",
        "sign",
        DEFAULT_SPEC,
        "--key",
        str(private),
        "--out",
        str(signed),
        "--seats",
        "Sales-Premium=3",
        "--seats",
        "Service-Essentials=4",
        "--company",
        "Acme AS",
        "--serial",
        "4711",
        "--expiration",
        "2027-12-31",
        "--grace-to",
        "2028-01-31",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(signed.read_text())
    assert data["owner"]["signature"].startswith("ed25519:")
    assert all(m["signature"].startswith("ed25519:") for m in data["modules"])
    assert "PRIVATE" not in signed.read_text()

    scimsrv("tenant", "create", "acme")
    trusted = {"SCIMSRV_LICENSE_PUBLIC_KEYS": public_keys}
    result = scimsrv("license", "import", "acme", str(signed), **trusted)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows[0] == ["module", "version", "change", "in use", "total", "free"]
    assert ["sales-premium", "1", "updated", "0", "3", "3"] in rows
    assert "imported license set of SUPEROFFICE (serial 4711) into tenant acme" in result.stdout

    show = table_rows(scimsrv("license", "show", "acme", "--at", "2027-06-01", **trusted).stdout)
    assert ["company", "Acme AS"] in show
    assert ["serial", "4711"] in show
    assert ["graceTo", "2028-01-31 00:00"] in show
    assert ["sales-premium", "1", "plan", "3", "0", "3", "yes"] in show
    assert ["verification", "every signature holds"] in show
    assert scimsrv("license", "verify", "acme", **trusted).exit_code == 0
    expired = scimsrv("license", "verify", "acme", "--at", "2028-02-01", **trusted)
    assert_one_line_failure(expired, "expired")
    late = table_rows(scimsrv("license", "show", "acme", "--at", "2028-02-01", **trusted).stdout)
    assert [
        "state",
        "read-only (past its stop date): no license is granted, releases still happen",
    ] in late


def test_import_rejected_lists_per_module_the_seats_to_remove_and_their_holders(
    scimsrv, database_file, vendor, tmp_path
):
    private, public_keys = vendor
    scimsrv("tenant", "create", "acme")
    ids = hold(database_file, "acme", "Sales-Premium", ["anna", "bjorn", "carl"])
    signed = tmp_path / "smaller.json"
    scimsrv(
        "license",
        "sign",
        DEFAULT_SPEC,
        "--key",
        str(private),
        "--out",
        str(signed),
        "--seats",
        "Sales-Premium=1",
    )
    result = scimsrv(
        "license", "import", "acme", str(signed), SCIMSRV_LICENSE_PUBLIC_KEYS=public_keys
    )
    assert_one_line_failure(result, "license set rejected: more seats are in use than it grants")
    holders = f"held by: {ids[0]} anna (Anna), {ids[1]} bjorn (Bjorn), {ids[2]} carl (Carl)"
    assert (
        f"module 'sales-premium' version '1': in use 3, new total 1: remove 2; {holders}"
        in result.stdout.splitlines()
    )
    # Nothing changed.
    show = scimsrv("license", "show", "acme", SCIMSRV_TRUST_TEST_LICENSE_KEY="1")
    assert ["sales-premium", "1", "plan", "10", "3", "7", "yes"] in table_rows(show.stdout)


def test_import_refuses_a_file_signed_with_an_untrusted_key(scimsrv, vendor, tmp_path):
    private, _ = vendor
    scimsrv("tenant", "create", "acme")
    signed = tmp_path / "acme.json"
    scimsrv("license", "sign", DEFAULT_SPEC, "--key", str(private), "--out", str(signed))
    result = scimsrv("license", "import", "acme", str(signed))
    kid = json.loads(signed.read_text())["owner"]["signature"].split(":")[1]
    assert_one_line_failure(
        result,
        f"error: license set rejected: the license set is signed with key {kid}, which this "
        "server does not trust: add the vendor's public key to SCIMSRV_LICENSE_PUBLIC_KEYS",
    )
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_import_of_an_unsigned_set_says_so_and_names_license_sign(scimsrv, vendor, tmp_path):
    private, public_keys = vendor
    scimsrv("tenant", "create", "acme")
    signed = tmp_path / "acme.json"
    scimsrv("license", "sign", DEFAULT_SPEC, "--key", str(private), "--out", str(signed))
    data = json.loads(signed.read_text())
    for row in [data["owner"], *data["modules"]]:
        row["signature"] = ""
    signed.write_text(json.dumps(data))
    result = scimsrv(
        "license", "import", "acme", str(signed), SCIMSRV_LICENSE_PUBLIC_KEYS=public_keys
    )
    assert_one_line_failure(
        result,
        "error: license set rejected: the license set is unsigned: the vendor signs it with "
        "`scimsrv license sign`",
    )
    assert result.stderr.count("\n") == 1


def test_import_of_a_set_never_issued_names_license_sign(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("license", "import", "acme", DEFAULT_SPEC)
    assert_one_line_failure(result, "not issued")
    assert "`scimsrv license sign`" in result.stderr


def test_import_into_an_unknown_tenant_fails_with_one_line(scimsrv, tmp_path):
    signed = tmp_path / "acme.json"
    key = tmp_path / "test.pem"
    key.write_bytes(signing.builtin_test_key().private_pem())
    scimsrv("license", "sign", DEFAULT_SPEC, "--key", str(key), "--out", str(signed))
    assert_one_line_failure(
        scimsrv("license", "import", str(signed), "--tenant", "nobody"), "no tenant 'nobody'"
    )


def test_keygen_refuses_to_overwrite_a_key(scimsrv, vendor):
    private, _ = vendor
    result = scimsrv("license", "keygen", "--out", str(private.parent))
    assert_one_line_failure(result, "refusing to overwrite")
    assert oct(private.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--seats", "Sales-Premium"], "expected PLAN=N"),
        (["--seats", "Sales-Ultimate=3"], "plan seats"),
        (["--expiration", "soon"], "not an ISO 8601 date"),
    ],
)
def test_sign_refuses_bad_options_with_one_line(scimsrv, vendor, tmp_path, args, reason):
    private, _ = vendor
    out = tmp_path / "x.json"
    result = scimsrv(
        "license", "sign", DEFAULT_SPEC, "--key", str(private), "--out", str(out), *args
    )
    assert_one_line_failure(result, reason)
    assert not out.exists()
