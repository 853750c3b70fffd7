"""``scimsrv token`` and ``scimsrv operator token``: bearer tokens of a tenant
(its SCIM API) and of the operators (the admin API). A secret is printed
once, when issued; only its SHA-256 is stored."""

from __future__ import annotations

import typer

from scimsrv.cli.support import TENANT, noun_app, print_table, run
from scimsrv.services import tokens

token_app = noun_app("A tenant's bearer tokens.")
operator_app = noun_app("The vendor's operators (admin API).")
operator_token_app = noun_app("Operator bearer tokens.")
operator_app.add_typer(operator_token_app, name="token")

PREFIX = typer.Argument(
    ..., metavar="PREFIX", help="The token's prefix (or id) as `token list` shows it."
)


def _print(listed: list[tokens.TokenInfo]) -> None:
    print_table(
        ["id", "prefix", "created", "revoked", "label"],
        [
            (
                info.id,
                info.prefix,
                info.created.isoformat(sep=" ", timespec="seconds"),
                info.revoked.isoformat(sep=" ", timespec="seconds") if info.revoked else "-",
                info.label,
            )
            for info in listed
        ],
    )


@token_app.command("issue")
def issue(
    tenant_id: str = TENANT,
    label: str = typer.Option("", help="What the token is for, e.g. 'entra'."),
) -> None:
    """Create a bearer token for TENANT and print it; it is shown this once only."""
    typer.echo(run(lambda tx: tokens.issue(tx, tenant_id, label), tenant=tenant_id))


@token_app.command("list")
def list_(tenant_id: str = TENANT) -> None:
    """List TENANT's tokens (never their secrets): id, prefix, created, revoked, label."""
    _print(run(lambda tx: tokens.list_tokens(tx, tenant_id), write=False))


@token_app.command("revoke")
def revoke(tenant_id: str = TENANT, prefix: str = PREFIX) -> None:
    """Revoke one of TENANT's tokens; requests with it are refused at once."""
    info = run(lambda tx: tokens.revoke(tx, tenant_id, prefix), tenant=tenant_id)
    typer.echo(f"revoked token {info.id} ({info.prefix})")


@operator_token_app.command("issue")
def operator_issue(label: str = typer.Option("", help="Who or what the token is for.")) -> None:
    """Create an operator token (admin API of every tenant) and print it, once."""
    typer.echo(run(lambda tx: tokens.issue(tx, None, label)))


@operator_token_app.command("list")
def operator_list() -> None:
    """List operator tokens (never their secrets): id, prefix, created, revoked, label."""
    _print(run(lambda tx: tokens.list_tokens(tx, None), write=False))


@operator_token_app.command("revoke")
def operator_revoke(
    prefix: str = typer.Argument(..., metavar="PREFIX", help="Prefix (or id) from `list`."),
) -> None:
    """Revoke an operator token."""
    info = run(lambda tx: tokens.revoke(tx, None, prefix))
    typer.echo(f"revoked operator token {info.id} ({info.prefix})")
