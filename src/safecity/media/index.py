"""The recording index service: records what the recorders closed (segments, gaps), answers a
camera's timeline for a range, and keeps evidence locks.

Segment paths are stored relative to the recordings root; `file_of` resolves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from safecity.core.errors import NotFound, ValidationFailed
from safecity.media.records import (
    EvidenceLock,
    GapCause,
    GapRecord,
    IndexedSegment,
    SegmentRecord,
    Timeline,
)
from safecity.store.media_tables import EvidenceLockRow, RecordingGapRow, RecordingSegmentRow
from safecity.store.repositories import recordings as repo
from safecity.store.repositories.port import Transactions


def segment_of(row: RecordingSegmentRow) -> IndexedSegment:
    record = SegmentRecord(
        camera_id=row.camera_id,
        start=repo.utc(row.started_at),
        end=repo.utc(row.ended_at),
        bytes=row.bytes,
        path=PurePosixPath(row.path),
        codec=row.codec,
        frames=row.frames,
        keyframes=tuple(float(k) for k in row.keyframes),
    )
    return IndexedSegment(id=row.id, record=record)


def gap_of(row: RecordingGapRow) -> GapRecord:
    return GapRecord(
        camera_id=row.camera_id,
        start=repo.utc(row.started_at),
        end=repo.utc(row.ended_at),
        cause=GapCause(row.cause),
    )


def lock_of(row: EvidenceLockRow) -> EvidenceLock:
    return EvidenceLock(
        id=row.id,
        camera_id=row.camera_id,
        start=repo.utc(row.started_at),
        end=repo.utc(row.ended_at),
        reason=row.reason,
        created_by=row.created_by,
        created_at=repo.utc(row.created_at),
        expires_at=None if row.expires_at is None else repo.utc(row.expires_at),
    )


def _new_segment(segment: SegmentRecord) -> repo.NewSegment:
    return repo.NewSegment(
        camera_id=segment.camera_id,
        start=segment.start,
        end=segment.end,
        size=segment.bytes,
        path=segment.path.as_posix(),
        codec=segment.codec,
        frames=segment.frames,
        keyframes=segment.keyframes,
    )


@dataclass
class RecordingIndex:
    """Segments and gaps in the store, by camera and time."""

    db: Transactions
    root: Path

    def file_of(self, segment: SegmentRecord) -> Path:
        return self.root / segment.path

    async def add_segment(self, segment: SegmentRecord) -> int:
        async with self.db.write() as session:
            (segment_id,) = await repo.add_segments(session, [_new_segment(segment)])
        return segment_id

    async def add_segments(self, segments: Sequence[SegmentRecord]) -> list[int]:
        """Index segments in one transaction; their ids, in order."""
        rows = [_new_segment(segment) for segment in segments]
        async with self.db.write() as session:
            return await repo.add_segments(session, rows)

    async def add_recovered(
        self, segment: SegmentRecord, slack: timedelta
    ) -> IndexedSegment | None:
        """Index a segment recovered from a file its writer left (`salvage`), whose `start` is
        known to `slack` (up to that much early): one overlapping the start of the segment
        before it by less than that is moved onto its end, whole; the gaps it fills are carved
        back. None, indexing nothing, if it would still overlap an indexed segment."""
        camera_id = segment.camera_id
        async with self.db.write() as session:
            rows = await repo.segments_between(session, camera_id, segment.start, segment.end)
            ends = [repo.utc(row.ended_at) for row in rows]
            if rows and max(ends) - segment.start < slack:
                moved = max(ends) - segment.start
                segment = replace(segment, start=segment.start + moved, end=segment.end + moved)
                rows = await repo.segments_between(session, camera_id, segment.start, segment.end)
            if rows:
                return None
            await repo.carve_gaps(session, camera_id, segment.start, segment.end)
            (segment_id,) = await repo.add_segments(session, [_new_segment(segment)])
            return IndexedSegment(id=segment_id, record=segment)

    async def paths_since(self, camera_id: int, since: datetime) -> set[PurePosixPath]:
        """The files of the camera's segments that start at or after `since`."""
        async with self.db.session() as session:
            found = await repo.paths_since(session, camera_id, since)
        return {PurePosixPath(path) for path in found}

    async def add_gap(self, gap: GapRecord) -> int:
        async with self.db.write() as session:
            row = await repo.add_gap(
                session,
                camera_id=gap.camera_id,
                start=gap.start,
                end=gap.end,
                cause=gap.cause.value,
            )
            return row.id

    async def segment(self, segment_id: int) -> IndexedSegment:
        """One indexed segment by id; `NotFound` if there is none (or retention removed it)."""
        async with self.db.session() as session:
            row = await repo.segment(session, segment_id)
        if row is None:
            raise NotFound(f"no recorded segment {segment_id}")
        return segment_of(row)

    async def last_end(self, camera_id: int) -> datetime | None:
        """Where the camera's recording last ended (a restarted recorder reports the gap)."""
        async with self.db.session() as session:
            return await repo.last_end(session, camera_id)

    async def timeline(self, camera_id: int, start: datetime, end: datetime) -> Timeline:
        """The camera's segments and gaps overlapping `[start, end)`."""
        if end <= start:
            raise ValidationFailed("the range must end after it starts", field="end")
        async with self.db.session() as session:
            segments = await repo.segments_between(session, camera_id, start, end)
            gaps = await repo.gaps_between(session, camera_id, start, end)
        return Timeline(
            camera_id=camera_id,
            start=start,
            end=end,
            segments=tuple(segment_of(row) for row in segments),
            gaps=tuple(gap_of(row) for row in gaps),
        )

    async def lock(
        self,
        camera_id: int,
        start: datetime,
        end: datetime,
        *,
        reason: str,
        by: str,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> EvidenceLock:
        """Protect `[start, end)` of a camera's recording from retention."""
        if end <= start:
            raise ValidationFailed("a lock must end after it starts", field="end")
        async with self.db.write() as session:
            row = await repo.add_lock(
                session,
                camera_id=camera_id,
                start=start,
                end=end,
                reason=reason,
                created_by=by,
                created_at=at,
                expires_at=expires_at,
            )
            return lock_of(row)

    async def unlock(self, lock_id: int) -> None:
        async with self.db.write() as session:
            if not await repo.remove_lock(session, lock_id):
                raise NotFound(f"no evidence lock {lock_id}")

    async def locks(self, camera_id: int, start: datetime, end: datetime) -> list[EvidenceLock]:
        async with self.db.session() as session:
            rows = await repo.locks_between(session, camera_id, start, end)
        return [lock_of(row) for row in rows]
