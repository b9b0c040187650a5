"""Tables of the recording index: segment files, the gaps between them, and evidence locks.

`camera_id` is a device id but carries no foreign key: recordings (and the locks protecting
evidence) outlive the removal of a camera from the registry, and retention deletes them by age.
Every table is indexed by (camera, start) for timelines; segments also by `ended_at` alone, the
order retention deletes in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.tables import Base, BigId


class RecordingSegmentRow(Base):
    """One closed segment file; `path` is relative to the recordings root."""

    __tablename__ = "recording_segments"
    __table_args__ = (
        Index("ix_recording_segments_camera_start", "camera_id", "started_at"),
        Index("ix_recording_segments_ended_at", "ended_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(400), unique=True)
    codec: Mapped[str] = mapped_column(String(16))
    frames: Mapped[int] = mapped_column(Integer)
    keyframes: Mapped[list[float]] = mapped_column(JSON, default=list)  # seconds after start


class RecordingGapRow(Base):
    """A stretch with no recording and its cause (source_lost, corrupt_stream, restart, ...)."""

    __tablename__ = "recording_gaps"
    __table_args__ = (Index("ix_recording_gaps_camera_start", "camera_id", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(String(20))


class EvidenceLockRow(Base):
    """A range of one camera's recording that retention must not delete."""

    __tablename__ = "evidence_locks"
    __table_args__ = (Index("ix_evidence_locks_camera_start", "camera_id", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(400))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
