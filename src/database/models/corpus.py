"""``tickets`` and ``kb_articles``: the text searched for similar tickets and KB articles.

Full-text search lives beside these tables, created by the migration per dialect: FTS5
tables ``tickets_fts`` / ``kb_articles_fts`` with triggers on SQLite, a generated
``search_vector`` tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base, UTCDateTime, utcnow


class Ticket(Base):
    """A ticket of a tenant's corpus, from webhooks or ``enhancer import tickets``."""

    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id", name="uq_tickets_tenant_ticket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[str] = mapped_column(String(64))
    display_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KBArticle(Base):
    """A knowledge-base article; ``tenant_id`` NULL means shared by every tenant."""

    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_tenant", "tenant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(1000))
    tags: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
