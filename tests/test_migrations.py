"""Migrations build the schema from empty on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from licensing_core.db import Database
from licensing_core.tables import Base
from scimsrv.storage import (
    schema,
    tables,  # noqa: F401
)


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"])
def test_migrations_build_the_models_schema_from_empty(fresh_database_url, backend_name):
    db = Database.from_url(fresh_database_url(backend_name))
    try:
        assert schema.current_revision(db.engine) is None
        schema.upgrade(db.engine)
        assert schema.current_revision(db.engine) == schema.head_revision(db.engine)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        schema.upgrade(db.engine)  # a second upgrade is a no-op
    finally:
        db.dispose()
