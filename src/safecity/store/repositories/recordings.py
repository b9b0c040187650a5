"""The recording index: segments, gaps and evidence locks, and the queries behind timelines
and retention. Ranges are half-open, `[start, end)`; two ranges overlap when each starts before
the other ends."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, delete, exists, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.media_tables import EvidenceLockRow, RecordingGapRow, RecordingSegmentRow


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _at(value: datetime) -> datetime:
    """A bound instant in UTC: SQLite compares the stored text, which drops the offset."""
    return utc(value).astimezone(UTC)


# -- segments -----------------------------------------------------------------------------------


class NewSegment(NamedTuple):
    """One segment for `add_segments`."""

    camera_id: int
    start: datetime
    end: datetime
    size: int
    path: str
    codec: str
    frames: int
    keyframes: Sequence[float]


async def add_segments(session: AsyncSession, segments: Sequence[NewSegment]) -> list[int]:
    """Insert segments in one statement; their ids, in the order given. A busy recorder
    closes many segments a second, and an ORM flush for each cost seven times as much per
    segment as this does for ten."""
    values = [
        {
            "camera_id": segment.camera_id,
            "started_at": _at(segment.start),
            "ended_at": _at(segment.end),
            "bytes": segment.size,
            "path": segment.path,
            "codec": segment.codec,
            "frames": segment.frames,
            "keyframes": [round(k, 6) for k in segment.keyframes],
        }
        for segment in segments
    ]
    statement = insert(RecordingSegmentRow).returning(
        RecordingSegmentRow.id, sort_by_parameter_order=True
    )
    return list((await session.scalars(statement, values)).all())


async def segments_between(
    session: AsyncSession, camera_id: int, start: datetime, end: datetime
) -> Sequence[RecordingSegmentRow]:
    """A camera's segments overlapping `[start, end)`, in start order."""
    query = (
        select(RecordingSegmentRow)
        .where(
            RecordingSegmentRow.camera_id == camera_id,
            RecordingSegmentRow.started_at < _at(end),
            RecordingSegmentRow.ended_at > _at(start),
        )
        .order_by(RecordingSegmentRow.started_at, RecordingSegmentRow.id)
    )
    return (await session.scalars(query)).all()


async def segment(session: AsyncSession, segment_id: int) -> RecordingSegmentRow | None:
    return await session.get(RecordingSegmentRow, segment_id)


async def paths_since(session: AsyncSession, camera_id: int, since: datetime) -> set[str]:
    """The paths of the camera's segments that start at or after `since`."""
    query = select(RecordingSegmentRow.path).where(
        RecordingSegmentRow.camera_id == camera_id, RecordingSegmentRow.started_at >= _at(since)
    )
    return set((await session.scalars(query)).all())


async def last_end(session: AsyncSession, camera_id: int) -> datetime | None:
    """Where the camera's newest indexed segment ends (None: nothing recorded)."""
    query = select(func.max(RecordingSegmentRow.ended_at)).where(
        RecordingSegmentRow.camera_id == camera_id
    )
    value = await session.scalar(query)
    return None if value is None else utc(value)


def _locked(now: datetime) -> ColumnElement[bool]:
    """The segment overlaps a lock of its camera that has not expired at `now`."""
    lock = EvidenceLockRow
    return exists().where(
        lock.camera_id == RecordingSegmentRow.camera_id,
        lock.started_at < RecordingSegmentRow.ended_at,
        lock.ended_at > RecordingSegmentRow.started_at,
        or_(lock.expires_at.is_(None), lock.expires_at > _at(now)),
    )


async def deletable_segments(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    cameras: Collection[int] | None = None,
    ended_before: datetime | None = None,
    after_id: tuple[datetime, int] | None = None,
) -> Sequence[RecordingSegmentRow]:
    """The oldest segments no live lock overlaps, oldest end first: of `cameras` (None: all),
    ended before `ended_before` if given, and after the (ended_at, id) key `after_id` (paging
    past rows a caller could not delete)."""
    where: list[ColumnElement[bool]] = [~_locked(now)]
    if cameras is not None:
        where.append(RecordingSegmentRow.camera_id.in_(sorted(cameras)))
    if ended_before is not None:
        where.append(RecordingSegmentRow.ended_at < _at(ended_before))
    if after_id is not None:
        ended, row_id = after_id
        where.append(
            or_(
                RecordingSegmentRow.ended_at > _at(ended),
                and_(RecordingSegmentRow.ended_at == _at(ended), RecordingSegmentRow.id > row_id),
            )
        )
    query = (
        select(RecordingSegmentRow)
        .where(*where)
        .order_by(RecordingSegmentRow.ended_at, RecordingSegmentRow.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def delete_segments(session: AsyncSession, ids: Collection[int]) -> int:
    if not ids:
        return 0
    removed = 0
    listed = sorted(ids)
    for start in range(0, len(listed), 500):
        result = await session.execute(
            delete(RecordingSegmentRow).where(
                RecordingSegmentRow.id.in_(listed[start : start + 500])
            )
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed


async def bytes_by_camera(session: AsyncSession) -> dict[int, int]:
    """Indexed bytes per camera."""
    query = select(RecordingSegmentRow.camera_id, func.sum(RecordingSegmentRow.bytes)).group_by(
        RecordingSegmentRow.camera_id
    )
    return {int(camera): int(total or 0) for camera, total in (await session.execute(query)).all()}


async def total_bytes(session: AsyncSession, cameras: Collection[int] | None = None) -> int:
    """Indexed bytes of these cameras (None: all)."""
    query = select(func.coalesce(func.sum(RecordingSegmentRow.bytes), 0))
    if cameras is not None:
        query = query.where(RecordingSegmentRow.camera_id.in_(sorted(cameras)))
    return int(await session.scalar(query) or 0)


# -- gaps ---------------------------------------------------------------------------------------


async def add_gap(
    session: AsyncSession, *, camera_id: int, start: datetime, end: datetime, cause: str
) -> RecordingGapRow:
    row = RecordingGapRow(
        camera_id=camera_id, started_at=_at(start), ended_at=_at(end), cause=cause
    )
    session.add(row)
    await session.flush()
    return row


async def gaps_between(
    session: AsyncSession, camera_id: int, start: datetime, end: datetime
) -> Sequence[RecordingGapRow]:
    """A camera's gaps overlapping `[start, end)`, in start order."""
    query = (
        select(RecordingGapRow)
        .where(
            RecordingGapRow.camera_id == camera_id,
            RecordingGapRow.started_at < _at(end),
            RecordingGapRow.ended_at > _at(start),
        )
        .order_by(RecordingGapRow.started_at, RecordingGapRow.id)
    )
    return (await session.scalars(query)).all()


async def carve_gaps(session: AsyncSession, camera_id: int, start: datetime, end: datetime) -> int:
    """Take `[start, end)` out of the camera's gaps (a segment found for it later): a gap
    inside goes, one across either end is cut back, one across both is split. How many gaps
    were touched."""
    rows = await gaps_between(session, camera_id, start, end)
    for row in rows:
        before, after = utc(row.started_at), utc(row.ended_at)
        await session.delete(row)
        if before < start:
            await add_gap(session, camera_id=camera_id, start=before, end=start, cause=row.cause)
        if after > end:
            await add_gap(session, camera_id=camera_id, start=end, end=after, cause=row.cause)
    await session.flush()
    return len(rows)


async def delete_gaps_before(session: AsyncSession, before: datetime) -> int:
    """Forget gaps that ended before `before` (older than anything retention keeps)."""
    result = await session.execute(
        delete(RecordingGapRow).where(RecordingGapRow.ended_at < _at(before))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- evidence locks -----------------------------------------------------------------------------


async def add_lock(
    session: AsyncSession,
    *,
    camera_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    created_by: str,
    created_at: datetime,
    expires_at: datetime | None = None,
) -> EvidenceLockRow:
    row = EvidenceLockRow(
        camera_id=camera_id,
        started_at=_at(start),
        ended_at=_at(end),
        reason=reason,
        created_by=created_by,
        created_at=_at(created_at),
        expires_at=None if expires_at is None else _at(expires_at),
    )
    session.add(row)
    await session.flush()
    return row


async def lock(session: AsyncSession, lock_id: int) -> EvidenceLockRow | None:
    return await session.get(EvidenceLockRow, lock_id)


async def remove_lock(session: AsyncSession, lock_id: int) -> bool:
    result = await session.execute(delete(EvidenceLockRow).where(EvidenceLockRow.id == lock_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def locks_between(
    session: AsyncSession, camera_id: int, start: datetime, end: datetime
) -> Sequence[EvidenceLockRow]:
    """A camera's locks overlapping `[start, end)` (expired ones included), in start order."""
    query = (
        select(EvidenceLockRow)
        .where(
            EvidenceLockRow.camera_id == camera_id,
            EvidenceLockRow.started_at < _at(end),
            EvidenceLockRow.ended_at > _at(start),
        )
        .order_by(EvidenceLockRow.started_at, EvidenceLockRow.id)
    )
    return (await session.scalars(query)).all()
