"""evidence keyed by its source reference (kind, ref_id, person_id), so events and a replay meet

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:05:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_kind_ref")
        batch_op.create_index("uq_evidence_kind_ref_person", ["kind", "ref_id", "person_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("uq_evidence_kind_ref_person")
        batch_op.create_index("ix_evidence_kind_ref", ["kind", "ref_id"], unique=False)
