"""Database engines and transactions for SQLite (embedded default) and PostgreSQL.

A plain ``postgresql://`` URL is mapped to the installed psycopg 3 driver.
SQLite runs in WAL mode with foreign keys on; write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the database lock instead of
failing when a reader upgrades to a writer.

Every wait for a lock is bounded by ``lock_timeout`` (seconds): PostgreSQL's
``lock_timeout`` setting, SQLite's busy timeout, and the wait for a pooled
connection. :func:`failure_kind` tells the callers which failures are worth
a retry (deadlock, serialization failure, a dropped connection) and which
mean "busy, try later" (a lock or connection wait that ran out).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_LOCK_TIMEOUT = 5.0

# PostgreSQL SQLSTATEs (Appendix A of its manual). A foreign-key or unique
# violation can be a race lost to a concurrent commit (a member added while
# its user is deleted, two renames to one name): run again, the use case
# then sees the committed row and answers as it should.
_RETRY_STATES = frozenset({"40001", "40P01", "23503", "23505"})
_BUSY_STATES = frozenset({"55P03", "57014"})  # lock_not_available, query_canceled


class Failure(enum.Enum):
    """How a database failure should be handled."""

    RETRY = "retry"  # run the whole transaction again
    BUSY = "busy"  # a bounded wait ran out: answer "try later"


def failure_kind(exc: BaseException) -> Failure | None:
    """RETRY for a deadlock, a serialization failure or a dropped connection;
    BUSY for a lock (or pooled connection) wait that exceeded its bound; None
    for anything else (a bug or bad data, never retried)."""
    if isinstance(exc, PoolTimeout):
        return Failure.BUSY
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return Failure.RETRY
    state = getattr(exc.orig, "sqlstate", None)
    if state in _RETRY_STATES:
        return Failure.RETRY
    if state in _BUSY_STATES:
        return Failure.BUSY
    message = str(exc.orig).lower()
    if "database is locked" in message or "database is busy" in message:
        return Failure.BUSY
    return None


SUPPORTED_BACKENDS = ("sqlite", "postgresql", "postgres")


def normalize_url(url: str | URL) -> URL:
    """The URL with a driver SQLAlchemy can load (``postgresql://`` -> psycopg 3).

    :raises ValueError: a database other than SQLite or PostgreSQL, or an
        in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``,
        ``sqlite:///``, ``mode=memory``): each connection would get a database
        of its own, so the workers, the commands and even two connections of
        one process would never see each other's rows.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"unsupported database {parsed.get_backend_name()!r}: use "
            "sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        )
    if parsed.get_backend_name() == "sqlite" and _in_memory(parsed):
        raise ValueError(
            "an in-memory SQLite database is not shared between workers and commands: "
            "use a file, sqlite:///PATH"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names no file: no path, ``:memory:``, or a URI
    filename (``?uri=true``) of ``file::memory:`` or with ``mode=memory``."""
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _prepare_sqlite(engine: Engine, lock_timeout: float) -> None:
    busy_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, **kwargs) -> Engine:
    """An engine for ``url`` whose lock and connection waits end after
    ``lock_timeout`` seconds; SQLite gets WAL, foreign keys and immediate writes.

    No pre-ping: a connection that dropped fails its first statement with
    ``connection_invalidated``, which :func:`failure_kind` calls RETRY.
    """
    parsed = normalize_url(url)
    kwargs.setdefault("pool_timeout", lock_timeout)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        _prepare_sqlite(engine, lock_timeout)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_recycle", 1800)
    # Sent in the startup packet: no statement per connection.
    options = f"-c lock_timeout={int(lock_timeout * 1000)}"
    kwargs.setdefault("connect_args", {}).setdefault("options", options)
    return create_engine(parsed, **kwargs)


class Database:
    """An engine and its sessions: ``write()`` and ``read()`` each run one
    transaction that commits on success and rolls back on any error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_engine = (
            engine.execution_options(sqlite_begin="DEFERRED") if is_sqlite(engine) else engine
        )
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str | URL, **kwargs) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def dry_run(self) -> Iterator[Session]:
        """A write transaction that is always rolled back: "what would happen"."""
        with self._sessions() as session:
            session.begin()
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
