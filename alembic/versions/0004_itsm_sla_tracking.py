"""itsm sla tracking

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("itsm_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("time_to_acknowledge", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("time_to_resolve", sa.Float(), nullable=True))
        batch_op.create_index("ix_itsm_tickets_open", ["status", "resolved_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("itsm_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_itsm_tickets_open")
        batch_op.drop_column("time_to_resolve")
        batch_op.drop_column("time_to_acknowledge")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("acknowledged_at")
