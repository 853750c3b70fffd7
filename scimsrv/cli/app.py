"""The ``scimsrv`` command line: one typer app per noun, registered here.

Every command applies pending migrations first, so a fresh machine works
whatever command comes first. Failures exit non-zero with one line,
``error: <reason>``, on stderr, and help is plain text that shows every
option's default and environment variable (:mod:`scimsrv.cli.support`).
"""

from __future__ import annotations

import os
import socket

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from scimsrv.cli.licenses import license_app
from scimsrv.cli.reports import report_app
from scimsrv.cli.rules import rules_app
from scimsrv.cli.support import CONTEXT_SETTINGS, Commands, fail, migrated, noun_app, settings
from scimsrv.cli.tenants import tenant_app
from scimsrv.cli.tokens import operator_app, token_app
from scimsrv.logs import log_config
from scimsrv.settings import Settings
from scimsrv.storage import schema

app = typer.Typer(
    cls=Commands,
    no_args_is_help=True,
    help="SCIM 2.0 provisioning server for CRM user plans.",
    epilog="Every command reads the settings SCIMSRV_DATABASE_URL (default "
    "sqlite:///./scimsrv.db), SCIMSRV_LICENSE_PUBLIC_KEYS and SCIMSRV_TRUST_TEST_LICENSE_KEY "
    "from the environment (README.md, Configuration).",
    context_settings=CONTEXT_SETTINGS,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = noun_app("Database schema.")
DEFAULTS = Settings.model_fields
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
    host: str = typer.Option(
        DEFAULTS["host"].default, envvar="SCIMSRV_HOST", help="Listen address."
    ),
    port: int = typer.Option(
        DEFAULTS["port"].default, envvar="SCIMSRV_PORT", min=1, max=65535, help="Listen port."
    ),
    workers: int = typer.Option(
        DEFAULTS["workers"].default, envvar="SCIMSRV_WORKERS", min=1, help="Worker processes."
    ),
) -> None:
    """Apply pending migrations, then serve HTTP."""
    config = settings()
    with migrated(config):
        pass  # each worker process opens its own engine on the migrated database
    count = workers
    # Every worker reads its settings again: tell them how many they are.
    os.environ["SCIMSRV_WORKERS"] = str(count)
    server_config = NoDelayConfig(
        "scimsrv.asgi:app",
        host=host,
        port=port,
        workers=count,
        log_config=log_config(),
        access_log=False,
    )
    if server_config.workers > 1:
        Multiprocess(server_config, sockets=[server_config.bind_socket()]).run()
        return
    server = uvicorn.Server(server_config)
    server.run()
    if not server.started:
        fail(f"could not serve on {server_config.host}:{server_config.port}")


class NoDelayConfig(uvicorn.Config):
    """uvicorn's settings, with TCP_NODELAY on the socket it binds itself for
    several workers. Accepted connections inherit it; without it (uvicorn
    leaves it off on that socket) every keep-alive response after a
    connection's first waits about 40 ms for Nagle's algorithm."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
