"""``runtime_flags``: switches operators flip at run time, shared by every process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base, JsonType, UTCDateTime, utcnow


class RuntimeFlag(Base):
    """One named switch (e.g. ``disable_llm_synthesis``) with a JSON value."""

    __tablename__ = "runtime_flags"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonType)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
