"""``scimsrv license``: vendor-side key generation and signing, and a tenant's
license set (import, show, verify).

The vendor's private key stays in files the vendor keeps; the server only
ever sees public keys (``SCIMSRV_LICENSE_PUBLIC_KEYS``, see
:mod:`licensing_core.signing`) and signed license-set files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from licensing_core import signing
from licensing_core.errors import InvalidLicenseSet, LicensingError
from licensing_core.license_set import LicenseSetSpec, license_set_to_json, parse_license_set
from licensing_core.license_status import INVALID, READ_ONLY, LicenseStatus
from licensing_core.tables import SITE_LICENSE, SYSTEM_LICENSE
from scimsrv.cli.support import (
    fail,
    noun_app,
    now,
    number,
    plural,
    print_table,
    run,
    tenant_given,
    warn,
)
from scimsrv.services import licenses

license_app = noun_app(
    "License sets: vendor keys and signing; import, show and verify a tenant's set."
)

# A tenant's set: TENANT first, as everywhere; the old `--tenant T` still works (hidden).
TENANT_ARGUMENT = typer.Argument(
    None,
    metavar="TENANT",
    help="Tenant id, as `scimsrv tenant list` shows it (required).",
    show_default=False,
)
OLD_TENANT = typer.Option(None, "--tenant", hidden=True)

PRIVATE_KEY_FILE = "license-signing-key.pem"
PUBLIC_KEY_FILE = "license-signing-key.pub.pem"
PUBLIC_KEYS_JSON = "license-public-keys.json"


def _date_option(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        fail(f"{name}: not an ISO 8601 date: {value!r}")


def _read_spec(path: Path) -> LicenseSetSpec:
    try:
        return parse_license_set(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"{path} is not JSON: {exc}")
    except InvalidLicenseSet as exc:
        fail(f"{path}: {exc}")


@license_app.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Directory for the key files (created).")],
) -> None:
    """Vendor side: create an Ed25519 signing key pair in DIR.

    Writes the private key (keep it secret; it never goes to a server), its
    public key as PEM, and a key file to trust it with SCIMSRV_LICENSE_PUBLIC_KEYS.
    """
    paths = [out / PRIVATE_KEY_FILE, out / PUBLIC_KEY_FILE, out / PUBLIC_KEYS_JSON]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        fail(f"refusing to overwrite {existing[0]}")
    key = signing.generate_key()
    try:
        out.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(paths[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as private:
            private.write(key.private_pem())
        paths[1].write_bytes(key.public_pem())
        paths[2].write_text(key.public_keys_json(), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write the key files in {out}: {exc.strerror or exc}")
    typer.echo(f"key id       {key.kid}")
    typer.echo(f"private key  {paths[0]}  (secret: keep it off the servers)")
    typer.echo(f"public key   {paths[1]}")
    typer.echo(f"trust it on the server: {signing.PUBLIC_KEYS_ENV}={paths[2]}")


@license_app.command("sign")
def sign(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.json", help="License set to issue.")],
    key: Annotated[Path, typer.Option("--key", help="The vendor's private key (PEM).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed set.")],
    seats: Annotated[
        list[str] | None,
        typer.Option(
            "--seats", metavar="PLAN=N", help="Seats of a plan, e.g. Sales-Premium=25 (repeat)."
        ),
    ] = None,
    unrestricted: bool = typer.Option(
        False, "--unrestricted", help="Every user license without a seat limit (pay-per-use)."
    ),
    company: str | None = typer.Option(None, help="companyName of the licensed customer."),
    serial: str | None = typer.Option(None, help="serialNumber of the licensed customer."),
    expiration: str | None = typer.Option(None, help="Expiration (ISO 8601; default never)."),
    grace_to: str | None = typer.Option(None, help="graceTo: read-only after it (ISO 8601)."),
    maintenance_to: str | None = typer.Option(None, help="maintenanceTo (ISO 8601)."),
    admin_warning_date: str | None = typer.Option(None, help="adminWarningDate (ISO 8601)."),
    next_check_date: str | None = typer.Option(None, help="nextCheckDate (ISO 8601)."),
) -> None:
    """Vendor side: compute seats, set the customer and dates, sign every row and the owner."""
    spec = _read_spec(spec_file)
    try:
        signing_key = signing.load_private_key(key.read_bytes())
    except OSError as exc:
        fail(f"cannot read {key}: {exc.strerror or exc}")
    except LicensingError as exc:
        fail(f"{key}: {exc}")
    plan_seats: dict[str, int] = {}
    for item in seats or []:
        plan, _, number = item.partition("=")
        if not number.strip().isdigit():
            fail(f"--seats {item!r}: expected PLAN=N, e.g. Sales-Premium=25")
        plan_seats[plan.strip()] = int(number)
    changes = {
        "company_name": company,
        "serial_number": serial,
        "expiration": _date_option(expiration, "--expiration"),
        "grace_to": _date_option(grace_to, "--grace-to"),
        "maintenance_to": _date_option(maintenance_to, "--maintenance-to"),
        "admin_warning_date": _date_option(admin_warning_date, "--admin-warning-date"),
        "next_check_date": _date_option(next_check_date, "--next-check-date"),
    }
    owner = dataclasses.replace(spec.owner, **{k: v for k, v in changes.items() if v is not None})
    try:
        issued = dataclasses.replace(spec, owner=owner).with_seats(plan_seats, unrestricted)
        signed = signing.sign_license_set(issued, signing_key)
    except LicensingError as exc:
        fail(str(exc))
    if signing_key.kid == signing.builtin_test_key_id():
        warn(signing.TEST_KEY_WARNING)
    try:
        out.write_text(json.dumps(license_set_to_json(signed), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(
        f"signed {plural(len(signed.modules), 'module')} for {owner.company_name or '-'} "
        f"(serial {owner.serial_number or '-'}) with key {signing_key.kid}: {out}"
    )


@license_app.command("import")
def import_(
    tenant: str | None = TENANT_ARGUMENT,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="A signed license set (JSON; required).", show_default=False
        ),
    ] = None,
    tenant_option: str | None = OLD_TENANT,
) -> None:
    """Verify a signed license set and make it TENANT's set, or show why not.

    Refused when a signature fails (unsigned, or signed with a key not in
    SCIMSRV_LICENSE_PUBLIC_KEYS) or a module has more seats in use than the
    new set grants: then, per module, the seats to remove and who holds them.
    """
    if tenant_option is not None and file is None and tenant is not None:
        tenant, file = None, Path(tenant)  # the old spelling: import FILE --tenant T
    tenant = tenant_given(tenant, tenant_option)
    if file is None:
        fail("missing argument 'FILE'", code=2)
    spec = _read_spec(file)
    report = run(lambda tx: licenses.import_set(tx, spec), tenant=tenant, cause="license import")
    print_table(
        [
            "module",
            "version",
            "change",
            number("in use"),
            number("total"),
            number("free"),
        ],
        [
            (
                m.module_name,
                m.module_version,
                m.change,
                m.in_use,
                "unlimited" if m.unrestricted else m.new_total,
                "-" if m.free is None else m.free,
            )
            for m in report.modules
        ],
    )
    typer.echo(
        f"imported license set of {report.owner_name} "
        f"(serial {report.serial_number or '-'}) into tenant {tenant}"
    )


def _when(value: datetime | None, none: str = "-") -> str:
    return none if value is None else value.isoformat(sep=" ", timespec="minutes")


def _kind(license_type: int, is_plan: bool) -> str:
    if is_plan:
        return "plan"
    return {SYSTEM_LICENSE: "system", SITE_LICENSE: "site"}.get(license_type, "user")


def _state(current: LicenseStatus) -> str:
    if current.state == INVALID:
        return "invalid: licenses whose signature fails are not granted"
    if current.state == READ_ONLY:
        return "read-only (past its stop date): no license is granted, releases still happen"
    return current.state


def _print_status(current: LicenseStatus) -> None:
    test_kid = signing.builtin_test_key_id()
    signed_with = current.signed_with or "-"
    if test_kid in signed_with:
        signed_with += " (built-in TEST key, demo only)"
    print_table(
        ["field", "value"],
        [
            ("tenant", current.tenant_id),
            ("owner", current.owner_name),
            ("company", current.company_name or "-"),
            ("serial", current.serial_number or "-"),
            ("signed with", signed_with),
            ("expiration", _when(current.expiration, "never")),
            ("graceTo", _when(current.grace_to)),
            ("maintenanceTo", _when(current.maintenance_to)),
            ("adminWarningDate", _when(current.admin_warning_date)),
            ("nextCheckDate", _when(current.next_check_date)),
            ("verification", current.verification.summary() or "every signature holds"),
            ("state", _state(current)),
        ],
        header=False,
    )
    typer.echo("")
    print_table(
        [
            "module",
            "version",
            "type",
            number("bought"),
            number("in use"),
            number("free"),
            "valid",
        ],
        [
            (
                m.module_name,
                m.module_version,
                _kind(m.license_type, m.is_plan) + ("*" if m.hidden else ""),
                "unlimited" if m.unrestricted else m.bought,
                m.in_use,
                "-" if m.free is None else m.free,
                "yes" if m.valid else "NO",
            )
            for m in current.modules
        ],
    )
    typer.echo("(* hidden)")
    _print_findings(current)


def _print_findings(current: LicenseStatus) -> None:
    """Warnings, then problems: the signatures' in one line, then the dates'."""
    for line in current.warnings:
        warn(line)
    signatures = current.verification.messages() if not current.valid else []
    if signatures:
        typer.echo(f"problem: {current.verification.summary()}")
    for line in current.errors:
        if line not in signatures:
            typer.echo(f"problem: {line}")


AT_HELP = "Evaluate the dates as of this moment (ISO 8601, UTC; default now)."


@license_app.command("show")
def show(
    tenant: str | None = TENANT_ARGUMENT,
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    tenant_option: str | None = OLD_TENANT,
) -> None:
    """TENANT's license set: owner, serial, dates, seats per module, verification."""
    tenant = tenant_given(tenant, tenant_option)
    moment = _date_option(at, "--at") or now()
    _print_status(run(lambda tx: licenses.status(tx, moment), tenant=tenant, write=False))


@license_app.command("verify")
def verify(
    tenant: str | None = TENANT_ARGUMENT,
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    tenant_option: str | None = OLD_TENANT,
) -> None:
    """Check every signature of TENANT's set; exit 1 when one fails or the set expired."""
    tenant = tenant_given(tenant, tenant_option)
    moment = _date_option(at, "--at") or now()
    current = run(lambda tx: licenses.status(tx, moment), tenant=tenant, write=False)
    rows = len(current.modules)
    keys = ", ".join(sorted(current.verification.key_ids)) or "-"
    typer.echo(f"tenant {tenant}: {plural(rows, 'license row')}, signed with key {keys}")
    _print_findings(current)
    if not current.valid:
        fail(f"license set of tenant {tenant} is invalid: {current.verification.summary()}")
    if current.errors:
        fail(f"license set of tenant {tenant} is expired: {current.errors[0]}")
    typer.echo("license set valid")
