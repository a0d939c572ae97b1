"""``enhancement_history``: one row per enhancement job; the source of truth and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base, JsonType, UTCDateTime, utcnow

JobStatus = Literal["pending", "processing", "completed", "failed"]
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("pending", "processing", "completed")


class EnhancementHistory(Base):
    """An enhancement job and everything recorded about it.

    ``dedupe_key`` is ``"<tenant>:<ticket>"`` while the job is pending, processing or
    completed and NULL once it has failed, so the unique index lets exactly one live job
    exist per ticket while a failed ticket can be enhanced again by a new delivery.
    """

    __tablename__ = "enhancement_history"
    __table_args__ = (
        Index("ix_enhancement_history_claim", "status", "next_attempt_at"),
        Index("ix_enhancement_history_ticket", "tenant_id", "ticket_id"),
        Index("ix_enhancement_history_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    correlation_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenant_configs.tenant_id"))
    ticket_id: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # ``attempts`` when an operator last re-queued the job: the retry budget counts from here.
    retry_base: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)

    context_nodes_success: Mapped[int | None] = mapped_column(Integer)
    context_nodes_failed: Mapped[int | None] = mapped_column(Integer)
    ticket_search_time_ms: Mapped[int | None] = mapped_column(Integer)
    kb_search_time_ms: Mapped[int | None] = mapped_column(Integer)
    ip_lookup_time_ms: Mapped[int | None] = mapped_column(Integer)
    context_time_ms: Mapped[int | None] = mapped_column(Integer)
    synthesis_time_ms: Mapped[int | None] = mapped_column(Integer)
    writeback_time_ms: Mapped[int | None] = mapped_column(Integer)
    total_time_ms: Mapped[int | None] = mapped_column(Integer)
    node_details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    used_fallback: Mapped[bool | None] = mapped_column(Boolean)
    fallback_reason: Mapped[str | None] = mapped_column(Text)
    llm_model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float)
    enhancement: Mapped[str | None] = mapped_column(Text)
    sdp_note_id: Mapped[str | None] = mapped_column(String(64))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
