"""The ``scimsrv`` command line: one typer app per noun, registered here.

Every command applies pending migrations first, so a fresh machine works
whatever command comes first. Failures exit non-zero with one line,
``error: <reason>``, on stderr (:mod:`scimsrv.cli.support`).
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
from scimsrv.cli.support import fail, migrated, run, settings
from scimsrv.cli.tenants import tenant_app
from scimsrv.cli.tokens import operator_app, token_app
from scimsrv.logs import log_config
from scimsrv.metrics.workers import Supervisor, metrics_directory
from scimsrv.services import audit
from scimsrv.services.tenants import reconcile_waiting
from scimsrv.services.transaction import Service
from scimsrv.storage import schema

# Seconds a worker may take to answer the supervisor's ping before it is
# replaced as hung. A new worker answers only once it has imported the
# command line; on a loaded machine that takes longer than uvicorn's 5 s, and
# each replacement would be killed in turn before it ever served.
WORKER_PING_TIMEOUT = 60

app = typer.Typer(
    no_args_is_help=True,
    help="SCIM 2.0 provisioning server for CRM user plans.",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
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
    host: str = typer.Option(None, help="Listen address [env SCIMSRV_HOST; 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [env SCIMSRV_PORT; 8000]"),
    workers: int = typer.Option(None, help="Worker processes [env SCIMSRV_WORKERS; 1]"),
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
    count = workers or config.workers
    # Every worker reads its settings again: tell them how many they are.
    os.environ["SCIMSRV_WORKERS"] = str(count)
    server_config = NoDelayConfig(
        "scimsrv.asgi:app",
        host=host or config.host,
        port=port or config.port,
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
