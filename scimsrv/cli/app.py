"""The ``scimsrv`` command line: serve, database, tenants, tokens.

Every command applies pending migrations first, so a fresh machine works
whatever command comes first. Failures exit non-zero with one line,
``error: <reason>``, on stderr.
"""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy import select

from licensing_core.tables import Tenant
from licensing_core.tenants import create_tenant, get_tenant
from scimsrv.cli.licenses import license_app
from scimsrv.cli.reports import report_app
from scimsrv.cli.rules import rules_app
from scimsrv.cli.support import fail, migrated, now, settings, valid_tenant_id
from scimsrv.provisioning.consistency import check_tenant
from scimsrv.services import tokens
from scimsrv.storage import schema

app = typer.Typer(
    no_args_is_help=True,
    help="SCIM 2.0 provisioning server for CRM user plans.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenant_app = typer.Typer(no_args_is_help=True, help="Tenants: one customer, one license set.")
token_app = typer.Typer(no_args_is_help=True, help="A tenant's bearer tokens.")
operator_app = typer.Typer(no_args_is_help=True, help="The vendor's operators (admin API).")
operator_token_app = typer.Typer(no_args_is_help=True, help="Operator bearer tokens.")
operator_app.add_typer(operator_token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(token_app, name="token")
app.add_typer(operator_app, name="operator")
app.add_typer(rules_app, name="rules")
app.add_typer(license_app, name="license")
app.add_typer(report_app, name="report")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to SCIMSRV_DATABASE_URL."""
    with migrated() as db:
        typer.echo(f"database at revision {schema.current_revision(db.engine)}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address [env SCIMSRV_HOST; 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [env SCIMSRV_PORT; 8000]"),
    workers: int = typer.Option(None, help="Worker processes [env SCIMSRV_WORKERS; 1]"),
) -> None:
    """Apply pending migrations, then serve HTTP."""
    config = settings()
    with migrated(config):
        pass  # each worker process opens its own engine on the migrated database
    uvicorn.run(
        "scimsrv.asgi:app",
        host=host or config.host,
        port=port or config.port,
        workers=workers or config.workers,
        log_level="info",
    )


@tenant_app.command("create")
def tenant_create(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id: [a-z0-9][a-z0-9-]*"),
    name: str = typer.Option("", help="Customer name shown to operators."),
) -> None:
    """Create a tenant with the default license set; print its SCIM base URL."""
    valid_tenant_id(tenant_id)
    config = settings()
    with migrated(config) as db, db.write() as session:
        create_tenant(session, tenant_id, name, at=now())
    typer.echo(config.tenant_base_url(tenant_id))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants: id, SCIM base URL, name (tab-separated)."""
    config = settings()
    with migrated(config) as db, db.read() as session:
        rows = session.execute(select(Tenant.tenant_id, Tenant.name).order_by(Tenant.tenant_id))
        for tenant_id, name in rows:
            typer.echo(f"{tenant_id}\t{config.tenant_base_url(tenant_id)}\t{name}")


@token_app.command("issue")
def token_issue(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id."),
    label: str = typer.Option("", help="What the token is for, e.g. 'entra'."),
) -> None:
    """Create a bearer token for tenant ID and print it; it is shown this once only."""
    with migrated() as db, db.write() as session:
        secret = tokens.issue(session, tenant_id, label=label, at=now())
    typer.echo(secret)


@token_app.command("list")
def token_list(tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id.")) -> None:
    """List tenant ID's tokens (never their secrets): id, prefix, created, revoked, label."""
    with migrated() as db, db.read() as session:
        get_tenant(session, tenant_id)
        listed = tokens.list_tokens(session, tenant_id)
    _print_tokens(listed)


@token_app.command("revoke")
def token_revoke(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id."),
    prefix: str = typer.Argument(
        ..., metavar="PREFIX", help="The token's prefix (or id) as `token list` shows it."
    ),
) -> None:
    """Revoke one of tenant ID's tokens; requests with it are refused at once."""
    with migrated() as db, db.write() as session:
        get_tenant(session, tenant_id)
        info = tokens.revoke(session, tenant_id, prefix, at=now())
    typer.echo(f"revoked token {info.id} ({info.prefix})")


@tenant_app.command("check")
def tenant_check(tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id.")) -> None:
    """Check links, seats, plan states and the ledger against a recomputation."""
    with migrated() as db, db.read() as session:
        get_tenant(session, tenant_id)
        problems = check_tenant(session, tenant_id)
    for problem in problems:
        typer.echo(problem)
    if problems:
        fail(f"tenant {tenant_id!r}: {len(problems)} inconsistencies")
    typer.echo(f"tenant {tenant_id!r} is consistent")


def _print_tokens(listed: list[tokens.TokenInfo]) -> None:
    for info in listed:
        revoked = info.revoked.isoformat(timespec="seconds") if info.revoked else "-"
        created = info.created.isoformat(timespec="seconds")
        typer.echo(f"{info.id}\t{info.prefix}\t{created}\t{revoked}\t{info.label}")


@operator_token_app.command("issue")
def operator_token_issue(
    label: str = typer.Option("", help="Who or what the token is for."),
) -> None:
    """Create an operator token (admin API of every tenant) and print it, once."""
    with migrated() as db, db.write() as session:
        secret = tokens.issue(session, None, label=label, at=now())
    typer.echo(secret)


@operator_token_app.command("list")
def operator_token_list() -> None:
    """List operator tokens (never their secrets): id, prefix, created, revoked, label."""
    with migrated() as db, db.read() as session:
        _print_tokens(tokens.list_tokens(session, None))


@operator_token_app.command("revoke")
def operator_token_revoke(
    prefix: str = typer.Argument(..., metavar="PREFIX", help="Prefix (or id) from `list`."),
) -> None:
    """Revoke an operator token."""
    with migrated() as db, db.write() as session:
        info = tokens.revoke(session, None, prefix, at=now())
    typer.echo(f"revoked operator token {info.id} ({info.prefix})")
