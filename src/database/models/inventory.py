"""``assets`` and ``networks``: the inventory the IP lookup reads (and never connects to).

Addresses are stored normalised (``ipaddress`` compressed form) plus a fixed-width hex key
(``ip_key``, ``start_key``/``end_key``: version digit + 32 hex digits) so that exact match and
CIDR containment are plain indexed comparisons on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from src.database.models.base import Base


class Asset(Base):
    """A host in the inventory."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_tenant_ip", "tenant_id", "ip_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str] = mapped_column(String(45))
    ip_key: Mapped[str] = mapped_column(String(33))
    asset_type: Mapped[str | None] = mapped_column("type", String(100))
    owner: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(255))
    criticality: Mapped[str | None] = mapped_column(String(50))


class Network(Base):
    """A network range in the inventory."""

    __tablename__ = "networks"
    __table_args__ = (Index("ix_networks_tenant_range", "tenant_id", "start_key", "end_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    cidr: Mapped[str] = mapped_column(String(50))
    start_key: Mapped[str] = mapped_column(String(33))
    end_key: Mapped[str] = mapped_column(String(33))
    prefix_len: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    site: Mapped[str | None] = mapped_column(String(255))
    vlan: Mapped[str | None] = mapped_column(String(50))
    owner: Mapped[str | None] = mapped_column(String(255))
