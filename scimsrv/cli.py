"""The ``scimsrv`` command line: serve, database, tenants."""

from __future__ import annotations

import typer
import uvicorn

from licensing_core.db import Database
from scimsrv import schema
from scimsrv.settings import Settings

app = typer.Typer(no_args_is_help=True, help="SCIM 2.0 provisioning server for CRM user plans.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")


def fail(message: str) -> None:
    """Exit non-zero with a one-line reason."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def database(settings: Settings | None = None) -> Database:
    return Database.from_url((settings or Settings()).database_url)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to SCIMSRV_DATABASE_URL."""
    db = database()
    schema.upgrade(db.engine)
    typer.echo(f"database at revision {schema.current_revision(db.engine)}")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address [env SCIMSRV_HOST; 127.0.0.1]"),
    port: int = typer.Option(None, help="Listen port [env SCIMSRV_PORT; 8000]"),
    workers: int = typer.Option(None, help="Worker processes [env SCIMSRV_WORKERS; 1]"),
) -> None:
    """Apply pending migrations, then serve HTTP."""
    settings = Settings()
    schema.upgrade(database(settings).engine)
    uvicorn.run(
        "scimsrv.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level="info",
    )
