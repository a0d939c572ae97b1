"""history retry base: a re-queued job gets its whole retry budget again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enhancement_history", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retry_base", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("enhancement_history", schema=None) as batch_op:
        batch_op.drop_column("retry_base")
