"""plan state version (a user's ETag changes when its plans do); group names not unique

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("associate_plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("associate_plan", schema=None) as batch_op:
        batch_op.alter_column("version", server_default=None)
    with op.batch_alter_table("scim_group", schema=None) as batch_op:
        batch_op.drop_constraint("uq_scim_group_tenant_id_display_name_ci", type_="unique")
        batch_op.create_index(
            "ix_scim_group_tenant_display_name_ci", ["tenant_id", "display_name_ci"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scim_group", schema=None) as batch_op:
        batch_op.drop_index("ix_scim_group_tenant_display_name_ci")
        batch_op.create_unique_constraint(
            "uq_scim_group_tenant_id_display_name_ci", ["tenant_id", "display_name_ci"]
        )
    with op.batch_alter_table("associate_plan", schema=None) as batch_op:
        batch_op.drop_column("version")
