"""``itsm_tickets``: every ticket we tried to open in ServiceNow or Jira, and how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base, JsonType, UTCDateTime, utcnow


class ItsmTicket(Base):
    """One creation attempt (successful or not) with its retry metadata and SLA timestamps.

    ``status`` is ``created`` or ``failed``; a failed row keeps ``attempts``,
    ``retry_delay_s`` and ``last_error`` so no failure is silent. ``remote_state`` is the
    platform's own state (ServiceNow ``state`` 1..8, Jira status category key) as last synced.
    """

    __tablename__ = "itsm_tickets"
    __table_args__ = (
        Index("ix_itsm_tickets_job_id", "job_id"),
        Index("ix_itsm_tickets_open", "status", "resolved_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    job_id: Mapped[str | None] = mapped_column(String(128))
    template_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(2))
    external_id: Mapped[str | None] = mapped_column(String(100))
    external_key: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(1000))
    remote_state: Mapped[str | None] = mapped_column(String(50))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    retry_delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_status: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[Any] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    time_to_acknowledge: Mapped[float | None] = mapped_column(Float)
    time_to_resolve: Mapped[float | None] = mapped_column(Float)
