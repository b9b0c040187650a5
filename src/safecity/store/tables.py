"""Table definitions (SQLAlchemy 2 declarative). Alembic migrations are the source of truth for
the live schema; these classes must match the latest migration (a test compares them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012 (SQLAlchemy API)


class OrgUnitRow(Base):
    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    centre_code: Mapped[str] = mapped_column(String(8), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PointRow(Base):
    __tablename__ = "points"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    ownership: Mapped[str] = mapped_column(String(20))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    owner_kind: Mapped[str | None] = mapped_column(String(20))
    public_signage: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeviceRow(Base):
    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    vendor: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    stream_url: Mapped[str | None] = mapped_column(String(1000))
    onvif_url: Mapped[str | None] = mapped_column(String(1000))  # ONVIF device service
    username: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted with the master key
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    department: Mapped[str | None] = mapped_column(String(40))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TokenRow(Base):
    """Session tokens and partner API keys; only a SHA-256 of the secret is kept."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # session | api_key
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class GrantRow(Base):
    """Shares one point with a partner department, with chosen rights."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("department", "point_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    rights: Mapped[list[str]] = mapped_column(JSON)
    granted_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """Append-only, hash-chained. `hash` = SHA-256(prev_hash + canonical record)."""

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_at", "at"),)
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row: the last sequence number and hash, so truncating the tail is detected too."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class SettingRow(Base):
    """Small key/value facts the platform keeps about itself (schema notes, key fingerprints)."""

    __tablename__ = "platform_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# The alarm centre's and the recording index's tables live in their own modules; importing them
# here registers them on `Base.metadata`, so Alembic and the schema test see every table from
# this one import.
from safecity.store import alarm_tables as _alarm_tables  # noqa: E402, F401
from safecity.store import media_tables as _media_tables  # noqa: E402, F401
