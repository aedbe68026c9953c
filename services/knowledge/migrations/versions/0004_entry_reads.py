"""entry reads: who read which entry

Revision ID: 0004_entry_reads
Revises: 0003_request_log
Create Date: 2026-11-30 18:40:00

One row per ``entry_read`` event (someone other than its author opened the entry), written in the
event's transaction and keyed by the event's id, so ``reads_since`` gives what the events said
(the appraisal's replay of the onboarding reads).
"""

import sqlalchemy as sa
from alembic import op

import crm_common.timestamps

revision = "0004_entry_reads"
down_revision = "0003_request_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_reads",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("read_at", crm_common.timestamps.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_entry_reads_entry_id_entries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_entry_reads")),
    )
    with op.batch_alter_table("entry_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_reads_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_entry_reads_read_at"), ["read_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_reads_read_at"))
        batch_op.drop_index(batch_op.f("ix_entry_reads_entry_id"))
    op.drop_table("entry_reads")
