"""Playback for a caller: an HLS playlist of a camera's recording over a range, and the recorded
files it points at, scoped and audited.

`PlaybackDesk.playlist(scope, camera_id, start, end, uri=...)` finds the camera through the
injected lookup (outside the caller's subtree and grants it is `NotFound`), refuses a partner
whose grant on the camera's point lacks the playback right, reads the timeline from the index
and the byte layout of each file (`mp4_index`, cached: recorded files never change), renders the
playlist (`hls`), and appends `playback.view` with the range to the audit trail. A player
reloads a playlist that reaches the present every few seconds; those reloads are the same
viewing, so one caller's same camera and range is audited again only after `reaudit_after`.

A range is finished (a `VOD` playlist with `#EXT-X-ENDLIST`) once it ends in the past and the
recording has caught up with it: the index holds a segment reaching its end, or `settle` has
passed since (a camera that stopped recording never catches up). Until then it is an `EVENT`
playlist that grows as the recorder closes segments. A file the index names but the disk no
longer holds (retention removed it meanwhile) is left out, like a gap.

`segment_file(scope, camera_id, segment_id)` resolves one segment id to its file under the same
checks, and only for a segment of that camera.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import structlog

from safecity.core.clock import Clock
from safecity.core.errors import NotFound, PermissionDenied, ValidationFailed
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Scope
from safecity.media.cameras import CameraLookup, CameraRef
from safecity.media.hls import ByteRange, HlsSegment, PlaylistType, SegmentUri, media_playlist
from safecity.media.index import RecordingIndex
from safecity.media.mp4_index import Mp4Layout, Mp4LayoutError, read_layout
from safecity.media.records import IndexedSegment, Timeline
from safecity.store.repositories.audit import append_by
from safecity.store.repositories.port import Transactions

AUDIT_ACTION: Final = "playback.view"
LAYOUT_CACHE_SIZE: Final = 10_000
_log = structlog.get_logger(__name__)

_LayoutKey = tuple[int, str, int]  # segment id, path, size: a reused id never hits


@dataclass(frozen=True, slots=True)
class PlaybackLimits:
    """How long a range may be, when a range is finished, how often a reload is audited."""

    max_range: timedelta = timedelta(hours=24)
    settle: timedelta = timedelta(minutes=2)
    reaudit_after: timedelta = timedelta(minutes=10)


class PlaybackDesk:
    def __init__(
        self,
        db: Transactions,
        index: RecordingIndex,
        clock: Clock,
        cameras: CameraLookup,
        limits: PlaybackLimits | None = None,
    ) -> None:
        self._db = db
        self._index = index
        self._clock = clock
        self._cameras = cameras
        self._limits = limits or PlaybackLimits()
        self._layouts: OrderedDict[_LayoutKey, Mp4Layout] = OrderedDict()
        self._audited: dict[tuple[int, int, datetime, datetime], datetime] = {}

    async def playlist(
        self, scope: Scope, camera_id: int, start: datetime, end: datetime, *, uri: SegmentUri
    ) -> str:
        """The HLS media playlist of the camera's recording overlapping `[start, end)`."""
        now = self._clock.now()
        start, end = self._checked_range(start, end, now)
        camera = await self._camera(scope, camera_id)
        timeline = await self._index.timeline(camera_id, start, end)
        segments = await self._segments(timeline.segments)
        finished = await self._finished(timeline, now)
        offset = 0.0 if not segments else (start - segments[0].start).total_seconds()
        text = media_playlist(
            segments,
            playlist_type=PlaylistType.VOD if finished else PlaylistType.EVENT,
            uri=uri,
            start_offset_s=max(0.0, offset),
        )
        await self._audit(scope, camera, start, end, len(segments), now)
        return text

    async def segment_file(self, scope: Scope, camera_id: int, segment_id: int) -> Path:
        """The file of one of the camera's recorded segments."""
        await self._camera(scope, camera_id)
        segment = await self._index.segment(segment_id)
        path = self._index.file_of(segment.record)
        if segment.record.camera_id != camera_id or not path.is_file():
            raise NotFound(f"no recorded segment {segment_id}")
        return path

    # -- internals ---------------------------------------------------------------------------

    def _checked_range(
        self, start: datetime, end: datetime, now: datetime
    ) -> tuple[datetime, datetime]:
        """The range in UTC (a time without an offset is taken as UTC)."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ValidationFailed("the range must end after it starts", field="end")
        if end - start > self._limits.max_range:
            hours = self._limits.max_range.total_seconds() / 3600
            raise ValidationFailed(f"the range may span at most {hours:g} hours", field="end")
        if start >= now:
            raise ValidationFailed("the range must start in the past", field="start")
        return start, end

    async def _camera(self, scope: Scope, camera_id: int) -> CameraRef:
        require(scope, Resource.PLAYBACK, Action.READ)
        camera = await self._cameras(scope, camera_id)
        if not scope.has_right(camera.point_id, camera.org_path, Right.PLAYBACK):
            raise PermissionDenied("playback needs the playback right on this camera")
        return camera

    async def _finished(self, timeline: Timeline, now: datetime) -> bool:
        if timeline.end > now:
            return False
        if timeline.end <= now - self._limits.settle:
            return True
        last_end = await self._index.last_end(timeline.camera_id)
        return last_end is not None and last_end >= timeline.end

    async def _segments(self, indexed: Sequence[IndexedSegment]) -> list[HlsSegment]:
        missing = [s for s in indexed if _key(s) not in self._layouts]
        if missing:
            paths = [self._index.file_of(s.record) for s in missing]
            read = await asyncio.to_thread(_read_layouts, paths)
            for segment, layout in zip(missing, read, strict=True):
                if layout is not None:
                    self._remember(_key(segment), layout)
        found: list[HlsSegment] = []
        for segment in indexed:
            layout = self._layouts.get(_key(segment))
            if layout is None:
                continue  # gone from the disk or unreadable: a hole, like a gap
            self._layouts.move_to_end(_key(segment))
            found.append(
                HlsSegment(
                    segment_id=segment.id,
                    start=segment.record.start,
                    duration_s=segment.record.duration_s,
                    init=ByteRange(layout.init_size, 0),
                    media=ByteRange(layout.media_size, layout.media_offset),
                )
            )
        return found

    def _remember(self, key: _LayoutKey, layout: Mp4Layout) -> None:
        self._layouts[key] = layout
        while len(self._layouts) > LAYOUT_CACHE_SIZE:
            self._layouts.popitem(last=False)

    async def _audit(
        self,
        scope: Scope,
        camera: CameraRef,
        start: datetime,
        end: datetime,
        segments: int,
        now: datetime,
    ) -> None:
        key = (scope.user_id, camera.id, start, end)
        window = self._limits.reaudit_after
        last = self._audited.get(key)
        if last is not None and now - last < window:
            return
        async with self._db.write() as session:
            await append_by(
                session,
                scope,
                now,
                action=AUDIT_ACTION,
                target=f"device:{camera.id}",
                org_path=camera.org_path,
                detail={"start": start.isoformat(), "end": end.isoformat(), "segments": segments},
            )
        self._audited = {k: at for k, at in self._audited.items() if now - at < window}
        self._audited[key] = now


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(segment: IndexedSegment) -> _LayoutKey:
    return (segment.id, segment.record.path.as_posix(), segment.record.bytes)


def _read_layouts(paths: Sequence[Path]) -> list[Mp4Layout | None]:
    """Each file's layout, None for one that is missing or not a complete fragmented MP4."""
    found: list[Mp4Layout | None] = []
    for path in paths:
        try:
            found.append(read_layout(path))
        except (OSError, Mp4LayoutError) as exc:
            _log.warning("playback.segment_unreadable", path=str(path), error=str(exc))
            found.append(None)
    return found
