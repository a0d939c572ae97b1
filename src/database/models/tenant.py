"""``tenant_configs``: one row per SDP instance this service enhances tickets for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base, UTCDateTime, utcnow

AuthScheme = Literal["onprem", "cloud"]


class TenantConfig(Base):
    """An SDP tenant. ``api_key`` and ``webhook_secret`` are stored encrypted (Fernet)."""

    __tablename__ = "tenant_configs"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    base_url: Mapped[str] = mapped_column(String(500))
    api_key: Mapped[str] = mapped_column(Text)
    auth_scheme: Mapped[str] = mapped_column(String(16), default="onprem")
    webhook_secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
