"""group_member (tenant_id, user_id) index covers group_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 22:30:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index("ix_group_member_tenant_user")
        batch_op.create_index(
            "ix_group_member_tenant_user", ["tenant_id", "user_id", "group_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("group_member", schema=None) as batch_op:
        batch_op.drop_index("ix_group_member_tenant_user")
        batch_op.create_index("ix_group_member_tenant_user", ["tenant_id", "user_id"], unique=False)
