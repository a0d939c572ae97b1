"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:32:12.341612
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _create_tables()
    _create_search(op.get_bind().dialect.name)


def _create_tables() -> None:

    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("ip_key", sa.String(length=33), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("criticality", sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index("ix_assets_tenant_ip", ["tenant_id", "ip_key"], unique=False)

    op.create_table(
        "kb_articles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("tags", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
    )
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index("ix_kb_articles_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("cidr", sa.String(length=50), nullable=False),
        sa.Column("start_key", sa.String(length=33), nullable=False),
        sa.Column("end_key", sa.String(length=33), nullable=False),
        sa.Column("prefix_len", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=True),
        sa.Column("vlan", sa.String(length=50), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_networks_tenant_range", ["tenant_id", "start_key", "end_key"], unique=False
        )

    op.create_table(
        "tenant_configs",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("auth_scheme", sa.String(length=16), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_configs")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("display_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("tenant_id", "ticket_id", name="uq_tickets_tenant_ticket"),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "enhancement_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("context_nodes_success", sa.Integer(), nullable=True),
        sa.Column("context_nodes_failed", sa.Integer(), nullable=True),
        sa.Column("ticket_search_time_ms", sa.Integer(), nullable=True),
        sa.Column("kb_search_time_ms", sa.Integer(), nullable=True),
        sa.Column("ip_lookup_time_ms", sa.Integer(), nullable=True),
        sa.Column("context_time_ms", sa.Integer(), nullable=True),
        sa.Column("synthesis_time_ms", sa.Integer(), nullable=True),
        sa.Column("writeback_time_ms", sa.Integer(), nullable=True),
        sa.Column("total_time_ms", sa.Integer(), nullable=True),
        sa.Column(
            "node_details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("used_fallback", sa.Boolean(), nullable=True),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("llm_model", sa.String(length=200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("enhancement", sa.Text(), nullable=True),
        sa.Column("sdp_note_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant_configs.tenant_id"],
            name=op.f("fk_enhancement_history_tenant_id_tenant_configs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enhancement_history")),
        sa.UniqueConstraint("correlation_id", name=op.f("uq_enhancement_history_correlation_id")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_enhancement_history_dedupe_key")),
        sa.UniqueConstraint("job_id", name=op.f("uq_enhancement_history_job_id")),
    )
    with op.batch_alter_table("enhancement_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enhancement_history_claim", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_enhancement_history_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_enhancement_history_ticket", ["tenant_id", "ticket_id"], unique=False
        )


def downgrade() -> None:
    _drop_search(op.get_bind().dialect.name)

    with op.batch_alter_table("enhancement_history", schema=None) as batch_op:
        batch_op.drop_index("ix_enhancement_history_ticket")
        batch_op.drop_index("ix_enhancement_history_created_at")
        batch_op.drop_index("ix_enhancement_history_claim")

    op.drop_table("enhancement_history")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_tenant_id"))

    op.drop_table("tickets")
    op.drop_table("tenant_configs")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index("ix_networks_tenant_range")

    op.drop_table("networks")
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_tenant")

    op.drop_table("kb_articles")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index("ix_assets_tenant_ip")

    op.drop_table("assets")


# Full-text search: FTS5 external-content tables kept in step by triggers on SQLite; a stored
# generated tsvector column with a GIN index on PostgreSQL (idx_kb_full_text, as the runbook
# names it).
_FTS = {
    "tickets": ("tickets_fts", ("subject", "description", "resolution")),
    "kb_articles": ("kb_articles_fts", ("title", "body", "tags")),
}
_PG_INDEX = {"tickets": "idx_tickets_full_text", "kb_articles": "idx_kb_full_text"}


def _create_search(dialect: str) -> None:
    for table, (fts, cols) in _FTS.items():
        if dialect == "postgresql":
            weights = "ABC"
            vector = " || ".join(
                f"setweight(to_tsvector('english', coalesce({c}, '')), '{w}')"
                for c, w in zip(cols, weights, strict=True)
            )
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                f"GENERATED ALWAYS AS ({vector}) STORED"
            )
            op.execute(f"CREATE INDEX {_PG_INDEX[table]} ON {table} USING gin(search_vector)")
            continue
        names = ", ".join(cols)
        new = ", ".join(f"new.{c}" for c in cols)
        old = ", ".join(f"old.{c}" for c in cols)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
            f"content_rowid='id', tokenize='porter unicode61')"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); END"
        )


def _drop_search(dialect: str) -> None:
    for table, (fts, _cols) in _FTS.items():
        if dialect == "postgresql":
            op.execute(f"DROP INDEX IF EXISTS {_PG_INDEX[table]}")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
            continue
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
