"""audit log: one entry per write of a tenant, append-only

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 14:00:00

* ``audit_log`` keyed ``(tenant_id, entry_id)``; ``entry_id`` is an identity
  on PostgreSQL (SQLite numbers entries per tenant as it writes them).
* A trigger on each database refuses every UPDATE of an entry: the log is
  append-only; only retention deletes (docs/audit-log.md).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
REFUSAL = "audit_log is append-only: entries are never updated"


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("request", Document, nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("error", sa.String(length=1024), nullable=True),
        sa.Column("changes", Document, nullable=False),
        sa.Column("user_keys", Document, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_at", table_name="audit_log")
    op.drop_table("audit_log")  # and its trigger
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_refuse_update()")
