"""itsm tickets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "itsm_tickets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.String(length=128), nullable=True),
        sa.Column("template_name", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("external_key", sa.String(length=100), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("remote_state", sa.String(length=50), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_delay_s", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("error_status", sa.Integer(), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_itsm_tickets")),
    )
    with op.batch_alter_table("itsm_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_itsm_tickets_job_id", ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("itsm_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_itsm_tickets_job_id")
    op.drop_table("itsm_tickets")
