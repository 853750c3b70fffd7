"""Schema migrations: upgrade a database to the newest revision with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration in one transaction.

    SQLite changes a table by rebuilding it (copy, drop, rename), and dropping
    a table that others refer to would cascade its deletes: foreign keys are
    switched off for the migration (a pragma that only works outside a
    transaction), every reference is checked before the commit, and they
    are switched on again whatever happens.

    A database already at ``head`` is only read (no write lock: a command
    run while another process writes must not wait for it).

    :raises RuntimeError: SQLite found rows whose references broke.
    """
    if revision == "head" and current_revision(engine) == head_revision(engine):
        return
    config = alembic_config(engine)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration broke references: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
