"""What every ``scimsrv`` sub-command shares: settings, the migrated database,
and failing with one line (``error: <reason>`` on stderr, exit code 1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from licensing_core.db import Database
from licensing_core.errors import LicensingError
from scimsrv.scim.errors import ScimError
from scimsrv.services import tokens
from scimsrv.settings import Settings
from scimsrv.storage import schema

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


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
        db = Database.from_url(config.database_url)
    except (SQLAlchemyError, ValueError) as exc:
        fail(f"bad SCIMSRV_DATABASE_URL: {exc}")
    try:
        schema.upgrade(db.engine)
        yield db
    except (LicensingError, tokens.UnknownToken, tokens.AmbiguousToken) as exc:
        fail(str(exc))
    except ScimError as exc:
        fail(exc.detail)
    except SQLAlchemyError as exc:
        fail(_database_reason(exc))
    finally:
        db.dispose()


def valid_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.match(tenant_id):
        fail(
            f"invalid tenant id {tenant_id!r}: use 1-63 lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return tenant_id
