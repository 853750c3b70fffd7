"""``scimsrv tenant``: create, list, show, set (company, contract terms), rename,
suspend, resume, delete, check, reconcile.

Tables are printed with rich (:func:`scimsrv.cli.support.print_table`);
``--format json`` prints what the admin API answers for the same tenant.
"""

from __future__ import annotations

import enum
import json
from datetime import date
from typing import Annotated

import typer

from licensing_core.periods import InvalidPeriod, parse_contract_start
from licensing_core.tenants import TenantInfo
from scimsrv.cli.rules import print_preview
from scimsrv.cli.support import (
    TENANT,
    fail,
    noun_app,
    plural,
    print_table,
    run,
    settings,
    valid_tenant_id,
    warn,
)
from scimsrv.services import licenses, tenants
from scimsrv.services.tenants import TenantDetails
from scimsrv.settings import Settings

tenant_app = noun_app("Tenants: one customer, one license set.")
COMPANY = typer.Option(None, "--company", help="The customer's company name (reports, Licenses).")
CONTRACT_START = typer.Option(
    None,
    "--contract-start",
    metavar="YYYY-MM-DD",
    help="First day of the contract: billing periods start on it.",
)
BILLING_PERIOD = typer.Option(
    None,
    "--billing-period",
    metavar="PERIOD",
    help="monthly, quarterly, half-yearly or yearly; all but monthly need a contract start "
    "(without one, periods are calendar months).",
)


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FORMAT = typer.Option("--format", help="table or json (the admin API's JSON).")


def _contract_start(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_contract_start(text)
    except InvalidPeriod as exc:
        fail(str(exc))


def _terms(info: TenantInfo) -> str:
    if info.contract_start is None:
        return f"{info.billing_period}, calendar-aligned"
    return f"{info.billing_period} from {info.contract_start.isoformat()}"


def _print_details(details: TenantDetails, output: Format) -> None:
    base_url = settings().tenant_base_url(details.info.tenant_id)
    if output is Format.json:
        typer.echo(json.dumps(details.to_json(base_url), indent=2))
        return
    info, period = details.info, details.current_period
    rows = [
        ("Tenant", info.tenant_id),
        ("Name", info.name),
        ("Company", info.company_name),
        (
            "State",
            info.state + (f" since {info.suspended:%Y-%m-%d %H:%M}" if info.suspended else ""),
        ),
        ("Billing", _terms(info)),
        ("Current period", f"{period.label}: {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}"),
        ("Users", details.users),
        ("Groups", details.groups),
        ("Live tokens", details.live_tokens),
        ("Registered", f"{info.registered:%Y-%m-%d %H:%M}"),
        ("SCIM base URL", base_url),
    ]
    print_table(["", ""], rows, header=False)


def note_origin(config: Settings) -> None:
    """Say where printed base URLs come from when SCIMSRV_PUBLIC_URL is unset:
    the listen address and port, as identity providers may not reach them."""
    if not config.public_url:
        typer.echo(
            f"note: base URLs assume the server listens on {config.host}:{config.port} "
            "(SCIMSRV_HOST, SCIMSRV_PORT; by default 127.0.0.1:8000); set SCIMSRV_PUBLIC_URL "
            "to the URL identity providers reach",
            err=True,
        )


@tenant_app.command("create")
def create(
    tenant_id: str = typer.Argument(
        ...,
        metavar="TENANT",
        help="New tenant id: 1-63 lower-case letters, digits and '-', starting with a "
        "letter or digit.",
        show_default=False,
    ),
    name: str = typer.Option("", help="What operators call the customer."),
    company: str | None = typer.Option(
        None, "--company", help="The customer's company name [default: the name]."
    ),
    contract_start: str | None = CONTRACT_START,
    billing_period: str | None = BILLING_PERIOD,
) -> None:
    """Create a tenant with the default license set; print its SCIM base URL.

    Warns when the default set will not verify under the configured license
    keys (SCIMSRV_LICENSE_PUBLIC_KEYS): its users get no license until a
    vendor-signed set is imported.
    """
    valid_tenant_id(tenant_id)
    start = _contract_start(contract_start)

    def work(tx):
        terms = {"contract_start": start, "billing_period": billing_period}
        tenants.create(tx, tenant_id, name, company=company, **terms)
        return licenses.status(tx)

    status = run(work, tenant=tenant_id)
    if not status.valid:
        warn(
            f"tenant {tenant_id}'s default license set does not verify here, so no license of "
            f"it is granted: {status.verification.summary()}; import a vendor-signed set with "
            f"`scimsrv license import {tenant_id} FILE`"
        )
    config = settings()
    note_origin(config)
    typer.echo(config.tenant_base_url(tenant_id))


@tenant_app.command("list")
def list_(output: Annotated[Format, FORMAT] = Format.table) -> None:
    """List tenants: id, name, company, billing, state, SCIM base URL (deleted ones too)."""
    config = settings()
    found = run(tenants.list_tenants, write=False)
    if output is Format.json:
        listed = [info.to_json(config.tenant_base_url(info.tenant_id)) for info in found]
        typer.echo(json.dumps({"tenants": listed}, indent=2))
        return
    note_origin(config)
    print_table(
        ["tenant", "name", "company", "billing", "state", "SCIM base URL"],
        [
            (
                info.tenant_id,
                info.name,
                info.company_name,
                _terms(info),
                info.state,
                config.tenant_base_url(info.tenant_id),
            )
            for info in found
        ],
    )


@tenant_app.command("show")
def show(tenant_id: str = TENANT, output: Annotated[Format, FORMAT] = Format.table) -> None:
    """Show a tenant: names, state, contract terms, the billing period in progress,
    how many users, groups and live tokens it has."""
    _print_details(run(tenants.show, tenant=tenant_id, write=False), output)


@tenant_app.command("set")
def set_(
    tenant_id: str = TENANT,
    company: str | None = COMPANY,
    contract_start: str | None = CONTRACT_START,
    billing_period: str | None = BILLING_PERIOD,
) -> None:
    """Set a tenant's company name and contract terms, then show it.

    The contract start and billing period can change only until the first
    billing period under the terms in force has ended (periods already billed
    never move)."""
    if company is None and contract_start is None and billing_period is None:
        fail("give --company, --contract-start or --billing-period")
    start = _contract_start(contract_start)
    details = run(
        lambda tx: tenants.change(
            tx, company=company, contract_start=start, billing_period=billing_period
        ),
        tenant=tenant_id,
    )
    _print_details(details, Format.table)


@tenant_app.command("rename")
def rename(
    tenant_id: str = TENANT,
    name: str = typer.Argument(..., metavar="NAME", help="The new name operators see."),
) -> None:
    """Give a tenant a new name; its id (in its SCIM base URL) never changes."""
    details = run(lambda tx: tenants.change(tx, name=name), tenant=tenant_id)
    typer.echo(f"tenant {tenant_id!r} is now named {details.info.name!r}")


@tenant_app.command("suspend")
def suspend(tenant_id: str = TENANT) -> None:
    """Close a tenant's SCIM API (403 to every request) until it is resumed;
    its admin API and commands keep working."""
    details = run(tenants.suspend, tenant=tenant_id)
    typer.echo(
        f"tenant {tenant_id!r} suspended since {details.info.suspended:%Y-%m-%d %H:%M} UTC: "
        f"`scimsrv tenant resume {tenant_id}` opens its SCIM API again"
    )


@tenant_app.command("resume")
def resume(tenant_id: str = TENANT) -> None:
    """Open a suspended tenant's SCIM API again."""
    run(tenants.resume, tenant=tenant_id)
    typer.echo(f"tenant {tenant_id!r} is active")


@tenant_app.command("delete")
def delete(
    tenant_id: str = TENANT,
    purge: bool = typer.Option(
        False, "--purge", help="Remove every row of the tenant, its ledger and history too."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete a tenant: release every license (the ledger records it), remove its
    users, groups, rules and tokens, keep its ledger and history for reports.
    With --purge, remove every row of it and free its id."""
    what = "every row of" if purge else "the users, groups, rules and tokens of"
    if not yes:
        try:
            confirmed = typer.confirm(f"Delete {what} tenant {tenant_id!r}?", default=False)
        except typer.Abort:  # no answer (end of input)
            confirmed = False
        if not confirmed:
            fail(f"tenant {tenant_id!r} not deleted (not confirmed; --yes confirms)")
    deletion = run(lambda tx: tenants.delete(tx, purge=purge), tenant=tenant_id)
    if deletion.purged:
        typer.echo(f"tenant {tenant_id!r} purged: {plural(deletion.rows, 'row')} removed")
        return
    typer.echo(
        f"tenant {tenant_id!r} deleted: {plural(deletion.licenses_released, 'license')} "
        f"released (recorded in the ledger), {plural(deletion.users, 'user')}, "
        f"{plural(deletion.groups, 'group')} and {plural(deletion.tokens, 'live token')} "
        f"removed; its ledger and history are kept for reports "
        f"(`scimsrv tenant delete {tenant_id} --purge` removes them)"
    )


@tenant_app.command("check")
def check(tenant_id: str = TENANT) -> None:
    """Check every license row's signature, links, seats, plan states and the
    ledger against a recomputation; list every problem."""
    problems = run(tenants.check, tenant=tenant_id, write=False)
    for problem in problems:
        typer.echo(problem)
    if problems:
        fail(f"tenant {tenant_id!r}: " + plural(len(problems), "inconsistency", "inconsistencies"))
    typer.echo(f"tenant {tenant_id!r} is consistent")


@tenant_app.command("reconcile")
def reconcile(
    tenant_id: str = TENANT,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would change; change nothing."
    ),
) -> None:
    """Recompute every user now: serve waiting users whose blocker went away,
    release licenses that stopped working; print who changed."""
    changes = run(tenants.reconcile, tenant=tenant_id, dry_run=dry_run, cause="reconcile (cli)")
    print_preview(changes, dry_run)
