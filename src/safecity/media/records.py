"""What recording produces: closed segments, gaps with their cause, evidence locks, and the
reports a camera's recorder (and the ingest host running it) sends to the async side.

Times are timezone-aware UTC. A segment covers `[start, end)` of wall-clock time, derived from
media time (see `segment_writer`); segment paths are relative to the recordings root, so the root
can move without rewriting the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath


class GapCause(StrEnum):
    """Why a camera's recording has a hole."""

    SOURCE_LOST = "source_lost"  # the stream ended, timed out or could not be opened
    CORRUPT_STREAM = "corrupt_stream"  # a packet flagged corrupt, unmuxable or without time
    TIMESTAMP_JUMP = "timestamp_jump"  # media time stepped back or jumped forward
    RESTART = "restart"  # the recorder itself stopped and started again
    DISK_FULL = "disk_full"  # a segment could not be written


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    """One closed segment file."""

    camera_id: int
    start: datetime
    end: datetime
    bytes: int
    path: PurePosixPath  # relative to the recordings root
    codec: str  # "h264" | "hevc"
    frames: int
    keyframes: tuple[float, ...] = field(default=())  # seconds after `start`

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class GapRecord:
    """A stretch of wall-clock time with no recording, and why."""

    camera_id: int
    start: datetime
    end: datetime
    cause: GapCause

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class DiskLow:
    """The writer found less free space under the root than it was told to keep."""

    camera_id: int
    free_bytes: int


@dataclass(frozen=True, slots=True)
class CameraOnline:
    """The first packet arrived after the camera was offline (or at the recorder's start)."""

    camera_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class CameraOffline:
    """No packet for `offline_after_s`: the camera has been lost since `since`."""

    camera_id: int
    at: datetime
    since: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class RecorderStopped:
    """The recorder's thread has finished; nothing more comes from it."""

    camera_id: int


@dataclass(frozen=True, slots=True)
class EngineChosen:
    """Which engine records the camera now: "native" or "pyav" (at start, and after the native
    loop hands a camera over to PyAV)."""

    camera_id: int
    engine: str


WriterReport = SegmentRecord | GapRecord | DiskLow
RecorderReport = (
    SegmentRecord | GapRecord | DiskLow | CameraOnline | CameraOffline | RecorderStopped
)
HostReport = RecorderReport | EngineChosen  # what an ingest host sends its platform


@dataclass(frozen=True, slots=True)
class EvidenceLock:
    """A range of one camera's recording that retention must keep (a bookmark)."""

    id: int
    camera_id: int
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexedSegment:
    """A segment as the index holds it."""

    id: int
    record: SegmentRecord


@dataclass(frozen=True, slots=True)
class Timeline:
    """What a camera has for a range: segments and gaps, each in start order."""

    camera_id: int
    start: datetime
    end: datetime
    segments: tuple[IndexedSegment, ...]
    gaps: tuple[GapRecord, ...]

    @property
    def recorded_s(self) -> float:
        """Seconds of the range covered by segments."""
        total = 0.0
        for item in self.segments:
            lo = max(item.record.start, self.start)
            hi = min(item.record.end, self.end)
            total += max(0.0, (hi - lo).total_seconds())
        return total
