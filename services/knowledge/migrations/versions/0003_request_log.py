"""request log: every write request once

Revision ID: 0003_request_log
Revises: 0002
Create Date: 2026-11-30 10:40:00

One row per write request (crm_common.idempotency): its id under a primary key, a digest of
what was asked and the answer given, so a redelivered request returns that answer instead of
writing again. Rows older than REQUEST_LOG_TTL_HOURS are swept by the service.
"""

import sqlalchemy as sa
from alembic import op

import crm_common.timestamps

revision = "0003_request_log"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_log",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", crm_common.timestamps.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_request_log")),
    )
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_log_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_log_created_at"))
    op.drop_table("request_log")
