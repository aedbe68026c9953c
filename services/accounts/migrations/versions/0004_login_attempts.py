"""login attempts: counted per username and per client, shared by every instance

Revision ID: 0004_login_attempts
Revises: 0003_request_log
"""

import sqlalchemy as sa
from alembic import op

import crm_common.timestamps

revision = "0004_login_attempts"
# 0003_request_log (another branch) comes between 0001 and this one when both are merged.
down_revision = "0003_request_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", crm_common.timestamps.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempts_window_started_at"), ["window_started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_window_started_at"))
    op.drop_table("login_attempts")
