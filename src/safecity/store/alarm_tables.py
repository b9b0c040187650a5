"""Tables of the alarm receiving centre: subscriber accounts and their zones, the durable inbox
of received DC-09 messages, alarms and the operator actions on them.

`alarm_signals` is the inbox the receiver writes before it ACKs a panel: append-only, one row per
distinct message (a retransmission hits the unique `dedupe` key and is ACKed again without a second
row). Alarms are derived from it by the alarm processor, which keeps its position in
`platform_settings` so a restart resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.tables import Base, BigId


class AlarmAccountRow(Base):
    """One alarm subscriber (a panel's account number) and how the centre handles it."""

    __tablename__ = "alarm_accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # AES key, sealed (master key)
    key_notation: Mapped[str | None] = mapped_column(String(4))  # "hex" | "text"
    require_encryption: Mapped[bool] = mapped_column(Boolean, default=False)
    supervision_s: Mapped[int | None] = mapped_column(Integer)
    grace_s: Mapped[int] = mapped_column(Integer, default=0)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    action_plans: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlarmZoneRow(Base):
    __tablename__ = "alarm_zones"
    __table_args__ = (UniqueConstraint("account_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("alarm_accounts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    detector: Mapped[str] = mapped_column(String(20))
    camera_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class AlarmSignalRow(Base):
    """A received DC-09 message, stored before the panel is acknowledged. Append-only."""

    __tablename__ = "alarm_signals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(16), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data: Mapped[str] = mapped_column(Text)
    dedupe: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    transport: Mapped[str] = mapped_column(String(4))
    peer: Mapped[str] = mapped_column(String(64))


class AlarmRow(Base):
    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_state_priority", "state", "priority"),
        Index("ix_alarms_raised_at", "raised_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("alarm_accounts.id"), index=True)
    account: Mapped[str] = mapped_column(String(16))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_signals.id"))
    source: Mapped[str] = mapped_column(String(12))  # panel | supervision | schedule
    format: Mapped[str] = mapped_column(String(12))  # contact_id | sia | internal
    code: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer)
    title_en: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200))
    partition: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[int | None] = mapped_column(Integer)
    user: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatch_unit: Mapped[str | None] = mapped_column(String(100))
    dispatch_eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    on_scene_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    disposition: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    restored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cameras: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlarmActionRow(Base):
    """What happened to an alarm, in order: operator actions and automatic ones (escalation)."""

    __tablename__ = "alarm_actions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
