"""Alembic environment: runs migrations on the connection the caller passes in."""

from alembic import context

import scimsrv.storage.tables  # noqa: F401  (registers every table on the shared metadata)
from licensing_core.tables import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
