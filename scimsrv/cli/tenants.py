"""``scimsrv tenant``: create, list, check, reconcile."""

from __future__ import annotations

import typer

from scimsrv.cli.rules import print_preview
from scimsrv.cli.support import fail, run, settings, valid_tenant_id
from scimsrv.services import tenants

tenant_app = typer.Typer(no_args_is_help=True, help="Tenants: one customer, one license set.")
TENANT = typer.Argument(..., metavar="ID", help="Tenant id.")


@tenant_app.command("create")
def create(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id: [a-z0-9][a-z0-9-]*"),
    name: str = typer.Option("", help="Customer name shown to operators."),
) -> None:
    """Create a tenant with the default license set; print its SCIM base URL."""
    valid_tenant_id(tenant_id)
    run(lambda tx: tenants.create(tx, tenant_id, name), tenant=tenant_id)
    typer.echo(settings().tenant_base_url(tenant_id))


@tenant_app.command("list")
def list_() -> None:
    """List tenants: id, SCIM base URL, name (tab-separated)."""
    config = settings()
    for tenant_id, name in run(tenants.list_tenants, write=False):
        typer.echo(f"{tenant_id}\t{config.tenant_base_url(tenant_id)}\t{name}")


@tenant_app.command("check")
def check(tenant_id: str = TENANT) -> None:
    """Check links, seats, plan states and the ledger against a recomputation."""
    problems = run(tenants.check, tenant=tenant_id, write=False)
    for problem in problems:
        typer.echo(problem)
    if problems:
        fail(f"tenant {tenant_id!r}: {len(problems)} inconsistencies")
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
