"""Shared fixtures: every database test runs on a real SQLite file and on a
fresh PostgreSQL database created for this run and dropped after it.

PostgreSQL comes from ``SCIMSRV_TEST_POSTGRES_URL`` (default: the local server,
user postgres). When it cannot be reached the PostgreSQL cases skip with the
reason, unless ``SCIMSRV_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which
turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from licensing_core.db import Database, normalize_url
from scimsrv.storage import schema

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

POSTGRES_URL = os.environ.get(
    "SCIMSRV_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("SCIMSRV_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgres"]


class PostgresServer:
    """Creates throw-away databases on the test PostgreSQL server."""

    def __init__(self, url: str) -> None:
        self.admin_url = normalize_url(url)
        self.created: list[str] = []
        self.error: str | None = None
        try:
            self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # unreachable server: report why, decide at use
            self.error = f"PostgreSQL at {url} unreachable: {exc.__class__.__name__}: {exc}"

    def require(self) -> None:
        if self.error is None:
            return
        if REQUIRE_POSTGRES:
            pytest.fail(f"{self.error} (SCIMSRV_REQUIRE_POSTGRES=1)")
        pytest.skip(self.error)

    def create_database(self) -> str:
        self.require()
        name = f"scimsrv_test_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.error is not None:
            return
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(POSTGRES_URL)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def fresh_database_url(postgres_server, tmp_path_factory):
    """A factory: ``fresh_database_url(backend)`` is the URL of a new empty database."""
    counter = itertools.count()

    def make(backend: str) -> str:
        if backend == "postgres":
            return postgres_server.create_database()
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/scimsrv-{next(counter)}.db"

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, fresh_database_url) -> str:
    """One migrated database per backend for the whole run; tests isolate by tenant."""
    url = fresh_database_url(backend)
    db = Database.from_url(url)
    schema.upgrade(db.engine)
    db.dispose()
    return url


@pytest.fixture(scope="session")
def db(database_url) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.dispose()


@pytest.fixture
def tenant_id() -> str:
    """A tenant id no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def database_file(fresh_database_url) -> str:
    """The URL of a fresh SQLite file, for CLI runs."""
    return fresh_database_url("sqlite")


@pytest.fixture
def scimsrv(database_file):
    """Run ``scimsrv ARGS`` in-process against ``database_file``; extra env may be given.

    The settings a developer may have exported are cleared, so each run sees
    only the database and what the test passes.
    """
    from typer.testing import CliRunner

    from scimsrv.cli.app import app

    runner = CliRunner()

    def run(*args: str, **env: str | None):
        environment = {
            "SCIMSRV_DATABASE_URL": database_file,
            "SCIMSRV_HOST": None,
            "SCIMSRV_PORT": None,
            "SCIMSRV_PUBLIC_URL": None,
            "SCIMSRV_LICENSE_PUBLIC_KEYS": None,
            "SCIMSRV_TRUST_TEST_LICENSE_KEY": None,
            **env,
        }
        return runner.invoke(app, list(args), env=environment, prog_name="scimsrv")

    return run


def assert_one_line_failure(result, reason: str, exit_code: int = 1) -> None:
    """A CLI failure: exit code 1 (2: a command line that does not parse) and one
    line on stderr, ``error: ...`` naming why. A report the command printed
    before failing may stand on stdout, and ``warning:`` lines it said on
    its way before the error line."""
    assert result.exit_code == exit_code, result.output
    *before, last = result.stderr.splitlines() or [""]
    assert all(line.startswith("warning: ") for line in before), result.stderr
    assert last.startswith("error: ") and reason in last, result.stderr


def table_rows(text: str) -> list[list[str]]:
    """The rows of a table a command printed (header included): cells are
    separated by two spaces or more; empty cells at a row's end are dropped."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]
