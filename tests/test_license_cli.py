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
from tests.conftest import assert_one_line_failure
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
    result = scimsrv("license", "show", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "owner             SUPEROFFICE" in out
    assert "expiration        never" in out
    assert "verification      valid" in out
    assert f"ed25519:{signing.builtin_test_key_id()} (built-in TEST key, demo only)" in out
    assert "sales-premium            1        plan           10       0      10  yes" in out
    assert "warning: license set signed with the built-in TEST key" in out


def test_verify_a_fresh_tenant_succeeds(scimsrv):
    scimsrv("tenant", "create", "acme")
    result = scimsrv("license", "verify", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("license set valid")


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
    result = scimsrv("license", "verify", "--tenant", "acme")
    assert_one_line_failure(result, "license set of tenant acme is invalid")
    assert "problem: license invalid: module 'web'" in result.stdout
    show = scimsrv("license", "show", "--tenant", "acme")
    assert "verification      INVALID" in show.stdout


def test_verify_fails_when_the_test_key_is_not_trusted(scimsrv, vendor):
    scimsrv("tenant", "create", "acme")
    _, public_keys = vendor
    result = scimsrv(
        "license", "verify", "--tenant", "acme", SCIMSRV_LICENSE_PUBLIC_KEYS=public_keys
    )
    assert_one_line_failure(result, "invalid")
    assert "does not trust" in result.stdout


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
    result = scimsrv("license", "import", str(signed), "--tenant", "acme", **trusted)
    assert result.exit_code == 0, result.output
    assert "imported license set of SUPEROFFICE (serial 4711) into tenant acme" in result.stdout

    show = scimsrv("license", "show", "--tenant", "acme", "--at", "2027-06-01", **trusted)
    assert "company           Acme AS" in show.stdout
    assert "serial            4711" in show.stdout
    assert "graceTo           2028-01-31 00:00" in show.stdout
    assert "sales-premium            1        plan            3       0       3  yes" in show.stdout
    assert "verification      valid" in show.stdout
    assert scimsrv("license", "verify", "--tenant", "acme", **trusted).exit_code == 0
    expired = scimsrv("license", "verify", "--tenant", "acme", "--at", "2028-02-01", **trusted)
    assert_one_line_failure(expired, "expired")


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
        "license",
        "import",
        str(signed),
        "--tenant",
        "acme",
        SCIMSRV_LICENSE_PUBLIC_KEYS=public_keys,
    )
    assert_one_line_failure(result, "license set rejected: more seats are in use than it grants")
    holders = f"held by: {ids[0]} anna (Anna), {ids[1]} bjorn (Bjorn), {ids[2]} carl (Carl)"
    assert (
        f"module 'sales-premium' version '1': in use 3, new total 1: remove 2; {holders}"
        in result.stdout.splitlines()
    )
    # Nothing changed.
    show = scimsrv("license", "show", "--tenant", "acme", SCIMSRV_TRUST_TEST_LICENSE_KEY="1")
    assert "sales-premium            1        plan           10       3       7" in show.stdout


def test_import_refuses_a_file_signed_with_an_untrusted_key(scimsrv, vendor, tmp_path):
    private, _ = vendor
    scimsrv("tenant", "create", "acme")
    signed = tmp_path / "acme.json"
    scimsrv("license", "sign", DEFAULT_SPEC, "--key", str(private), "--out", str(signed))
    result = scimsrv("license", "import", str(signed), "--tenant", "acme")
    assert_one_line_failure(result, "signed with unknown key")


def test_import_into_an_unknown_tenant_fails_with_one_line(scimsrv, tmp_path):
    signed = tmp_path / "acme.json"
    key = tmp_path / "test.pem"
    key.write_bytes(signing.builtin_test_key().private_pem())
    scimsrv("license", "sign", DEFAULT_SPEC, "--key", str(key), "--out", str(signed))
    assert_one_line_failure(
        scimsrv("license", "import", str(signed), "--tenant", "nobody"), "no tenant"
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
