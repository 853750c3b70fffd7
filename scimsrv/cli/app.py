"""The ``scimsrv`` command line: one typer app per noun, registered here.

Every command applies pending migrations first, so a fresh machine works
whatever command comes first. Failures exit non-zero with one line,
``error: <reason>``, on stderr, and help is plain text that shows every
option's default and environment variable (:mod:`scimsrv.cli.support`).
"""

from __future__ import annotations

import logging.config
import os
import socket

import typer
import uvicorn

from scimsrv.cli import log
from scimsrv.cli.directory import groups, users
from scimsrv.cli.licenses import license_app
from scimsrv.cli.plans import plans
from scimsrv.cli.reports import report_app
from scimsrv.cli.rules import rules_app
from scimsrv.cli.support import (
    CONTEXT_SETTINGS,
    Commands,
    fail,
    migrated,
    noun_app,
    run,
    settings,
)
from scimsrv.cli.tenants import tenant_app
from scimsrv.cli.tokens import operator_app, token_app
from scimsrv.logs import log_config
from scimsrv.metrics.workers import Supervisor, metrics_directory
from scimsrv.services import audit
from scimsrv.services.tenants import reconcile_waiting
from scimsrv.services.transaction import Service
from scimsrv.settings import Settings
from scimsrv.storage import schema

# Seconds a worker may take to answer the supervisor's ping before it is
# replaced as hung. A new worker answers only once it has imported the
# command line; on a loaded machine that takes longer than uvicorn's 5 s, and
# each replacement would be killed in turn before it ever served.
WORKER_PING_TIMEOUT = 60

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
app.command("users")(users)
app.command("groups")(groups)
app.command("plans")(plans)
app.command("log")(log.show)
db_app.command("prune-log")(log.prune)


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
    rate_limit: float = typer.Option(
        DEFAULTS["rate_limit"].default,
        envvar="SCIMSRV_RATE_LIMIT",
        min=0,
        help="Requests a second per tenant token, in each worker (0: no limit).",
    ),
    rate_burst: float = typer.Option(
        DEFAULTS["rate_burst"].default,
        envvar="SCIMSRV_RATE_BURST",
        min=1,
        help="Requests a tenant token may send at once, in each worker.",
    ),
) -> None:
    """Apply pending migrations and the audit log's retention, serve waiting users,
    then serve HTTP (metrics of every worker at /metrics)."""
    config = settings()
    logging.config.dictConfig(log_config())
    run(lambda tx: audit.prune(tx, config.audit_retention_days))
    with migrated(config) as db:
        # Keys may be trusted now that were not, seats freed while it was down:
        # waiting users are served once, before the workers start (each worker
        # then opens its own engine on the migrated database).
        reconcile_waiting(Service(db, config))
    count = workers
    # Every worker reads its settings again: tell them how many they are and
    # the limits given on the command line.
    os.environ["SCIMSRV_WORKERS"] = str(count)
    os.environ["SCIMSRV_RATE_LIMIT"] = str(rate_limit)
    os.environ["SCIMSRV_RATE_BURST"] = str(rate_burst)
    server_config = NoDelayConfig(
        "scimsrv.asgi:app",
        host=host,
        port=port,
        workers=count,
        log_config=log_config(),
        access_log=False,
        timeout_worker_healthcheck=WORKER_PING_TIMEOUT,
    )
    refused = f"could not serve on {server_config.host}:{server_config.port}"
    with metrics_directory():
        try:
            sockets = [server_config.bind_socket()]
        except SystemExit:  # uvicorn has logged why
            fail(refused)
        supervisor = Supervisor(server_config, sockets=sockets)
        supervisor.run()
        if supervisor.failed_to_start:
            fail(refused)


class NoDelayConfig(uvicorn.Config):
    """uvicorn's settings, with TCP_NODELAY on the socket it binds itself for
    its worker processes. Accepted connections inherit it; without it (uvicorn
    leaves it off on that socket) every keep-alive response after a
    connection's first waits about 40 ms for Nagle's algorithm."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
