"""``scimsrv tenant``: create, list, check."""

from __future__ import annotations

import typer

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
from scimsrv.settings import Settings

tenant_app = noun_app("Tenants: one customer, one license set.")


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
    name: str = typer.Option("", help="Customer name shown to operators."),
) -> None:
    """Create a tenant with the default license set; print its SCIM base URL.

    Warns when the default set will not verify under the configured license
    keys (SCIMSRV_LICENSE_PUBLIC_KEYS): its users get no license until a
    vendor-signed set is imported.
    """
    valid_tenant_id(tenant_id)

    def work(tx):
        tenants.create(tx, tenant_id, name)
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
def list_() -> None:
    """List tenants: id, SCIM base URL, name."""
    config = settings()
    listed = run(tenants.list_tenants, write=False)
    note_origin(config)
    print_table(
        ["tenant", "SCIM base URL", "name"],
        [(tenant_id, config.tenant_base_url(tenant_id), name) for tenant_id, name in listed],
    )


@tenant_app.command("check")
def check(tenant_id: str = TENANT) -> None:
    """Check links, seats, plan states and the ledger against a recomputation."""
    problems = run(tenants.check, tenant=tenant_id, write=False)
    for problem in problems:
        typer.echo(problem)
    if problems:
        fail(f"tenant {tenant_id!r}: " + plural(len(problems), "inconsistency", "inconsistencies"))
    typer.echo(f"tenant {tenant_id!r} is consistent")
