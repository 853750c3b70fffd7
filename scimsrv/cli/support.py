"""What every ``scimsrv`` sub-command shares: settings, the migrated database, use
cases run as the local operator, and the one place where failures become
one line (``error: <reason>`` on stderr, exit code 1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from typer.main import get_current_context

from licensing_core.activation import ImportRejected
from licensing_core.db import Database
from licensing_core.errors import LicensingError
from licensing_core.tenants import is_tenant_id
from scimsrv.scim.errors import ScimError
from scimsrv.services.audit import RequestInfo
from scimsrv.services.errors import Busy
from scimsrv.services.tokens import AmbiguousToken, UnknownToken
from scimsrv.services.transaction import LOCAL, Service, Tx
from scimsrv.settings import Settings
from scimsrv.storage import schema

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    """Exit non-zero with a one-line reason."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code=1)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"bad setting SCIMSRV_{str(first['loc'][0]).upper()}: {first['msg']}")


def _database_reason(exc: SQLAlchemyError) -> str:
    # Driver messages span lines and may repeat the SQL; the first line says why.
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"database: {reason[0] if reason else exc.__class__.__name__}"


@contextmanager
def migrated(config: Settings | None = None) -> Iterator[Database]:
    """The configured database at the newest schema; known failures end in one line."""
    config = config or settings()
    try:
        db = Database.from_url(config.database_url, lock_timeout=config.lock_timeout)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        fail(f"bad SCIMSRV_DATABASE_URL: {exc}")
    try:
        schema.upgrade(db.engine)
        yield db
    except ImportRejected as exc:
        for line in exc.report.lines():
            typer.echo(line)
        fail(str(exc))
    except (LicensingError, UnknownToken, AmbiguousToken) as exc:
        fail(str(exc))
    except (ScimError, Busy) as exc:
        fail(exc.detail)
    except SQLAlchemyError as exc:
        fail(_database_reason(exc))
    finally:
        db.dispose()


def run(
    work: Callable[[Tx], T],
    *,
    tenant: str = "",
    write: bool = True,
    dry_run: bool = False,
    cause: str = "cli",
) -> T:
    """``work`` as the local operator, in one transaction on the migrated
    database; a write appends its audit entry, naming the command."""
    config = settings()
    with migrated(config) as db:
        return Service(db, config).run(
            work,
            caller=LOCAL,
            tenant_id=tenant,
            cause=cause,
            write=write,
            dry_run=dry_run,
            request=RequestInfo(command=command()),
        )


def command() -> str:
    """The command being run, as the audit log names it (``scimsrv rules add``):
    the path of the context typer runs the command in (typer carries its own
    click, whose current context ``typer.main`` hands out)."""
    context = get_current_context(silent=True)
    words = context.command_path.split()[1:] if context is not None else []
    return " ".join(["scimsrv", *words])


def valid_tenant_id(tenant_id: str) -> str:
    if not is_tenant_id(tenant_id):
        fail(
            f"invalid tenant id {tenant_id!r}: use 1-63 lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return tenant_id
