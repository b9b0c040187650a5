"""Crash salvage: the segment files a writer left open when its process died (an ingest worker
killed, the platform itself killed), indexed as segments, so that playback, export and
retention see them, instead of lying on disk unindexed for ever.

The recording service calls `Salvage.camera` for each camera before its recording (re)starts:
at the service's start and before a dead worker's shard starts again, and so before it reads
the camera's last indexed end. For every file of the camera that no segment names, among those
whose names say they start at most `SCAN_BACK` before that end (a dead writer's file starts at
or after it; an older one a failed index write left is found if it is that recent), or all of
them when nothing is indexed:

- a fragmented MP4 with its init segment and at least one complete `moof` + `mdat` fragment
  (`mp4_index.read_fragments`) is cut back to its last complete fragment (a fragment the writer
  was writing when it died is truncated off) and indexed like a closed segment;
- anything else (empty, only the init segment, unreadable) is deleted, and logged.

One that would overlap an indexed segment by more than its name's rounding is left as it is,
and logged (nothing the writer does makes one); the gaps an older one fills are cut back.

Times. The writer maps a segment's first keyframe to its start and every later sample to that
start plus media time; no wall-clock time is in the file, only in its name (`segment_path`: the
start, cut to the millisecond). So: `start` is the name's time, moved onto the end of the
segment before it when that ends within the name's millisecond (a segment cut at a keyframe
starts exactly where the one before ended); `end` is `start` plus the media time from the first
sample's presentation time to the end of the last sample shown (the sample with the latest
presentation time, plus its duration: the next keyframe's time, as the writer's own end is);
keyframe times are sync samples' presentation times from the first, as the writer lists them.
The file's time origin (`tfdt`, a muxer's shift for B-frames, an edit list) cancels out.

The salvaged segment then is the camera's last indexed end: the restarted writer never anchors
before it, and the hole after it becomes its gap (`source_lost` after a dead worker).
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Final

import structlog

from safecity.media.index import RecordingIndex
from safecity.media.mp4_index import Mp4LayoutError, RecordedFragments, read_fragments
from safecity.media.records import IndexedSegment, SegmentRecord
from safecity.media.retention import remove_file
from safecity.media.segment_writer import NAME_RESOLUTION, SUFFIX, segment_start

_log = structlog.get_logger(__name__)

SCAN_BACK: Final = timedelta(hours=1)  # files searched that start before the last indexed end


def segment_files(root: Path, camera_id: int, since: datetime | None) -> list[PurePosixPath]:
    """The camera's segment files (paths relative to `root`) whose names say they start at or
    after `since` (None: all), in that order. Files the writer would not name are not
    listed."""
    found: list[tuple[datetime, int, str, PurePosixPath]] = []
    camera = root / str(camera_id)
    first = None if since is None else since.date()
    for day in sorted(camera.glob("[0-9]*/[0-9]*/[0-9]*")):
        try:
            date = datetime.strptime("/".join(day.parts[-3:]) + "Z", "%Y/%m/%d%z").date()
        except ValueError:
            continue
        if (first is not None and date < first) or not day.is_dir():
            continue
        for path in day.glob("*" + SUFFIX):
            start = segment_start(path.name)
            if start is not None and (since is None or start >= since) and path.is_file():
                relative = PurePosixPath(path.relative_to(root).as_posix())
                found.append((start, len(path.name), path.name, relative))
    return [relative for *_, relative in sorted(found)]


def recover(root: Path, relative: PurePosixPath, camera_id: int) -> SegmentRecord | None:
    """Make the file at `relative` a segment, its start from its name (blocking): cut a
    trailing incomplete fragment off, or delete it when no fragment is complete (None)."""
    path = root / relative
    start = segment_start(relative.name)
    if start is None:
        raise ValueError(f"{relative} is not a segment file's name")
    try:
        found = read_fragments(path)
    except (OSError, Mp4LayoutError) as exc:
        _drop(root, relative, f"unreadable: {exc}")
        return None
    record = _record(found, camera_id, start, relative)
    if record is None:
        _drop(root, relative, found.cut or "no sample lasts")
        return None
    if found.cut is not None:
        try:
            with path.open("r+b") as stream:
                stream.truncate(found.end)
                os.fsync(stream.fileno())
        except OSError as exc:
            _log.error("salvage.truncate_failed", path=relative.as_posix(), error=str(exc))
            return None
        _log.info(
            "salvage.truncated",
            path=relative.as_posix(),
            cut_bytes=found.file_size - found.end,
            reason=found.cut,
        )
    return record


def _record(
    found: RecordedFragments, camera_id: int, start: datetime, relative: PurePosixPath
) -> SegmentRecord | None:
    """The segment the complete fragments make (None: no sample, or no time covered)."""
    samples = found.samples
    if not samples:
        return None
    scale = found.timescale
    origin = samples[0].presentation_time
    last = max(samples, key=lambda sample: sample.presentation_time)
    ticks = last.presentation_time + last.duration - origin
    if ticks <= 0:
        return None
    return SegmentRecord(
        camera_id=camera_id,
        start=start,
        end=start + timedelta(seconds=ticks / scale),
        bytes=found.end if found.cut is not None else found.file_size,
        path=relative,
        codec=found.codec,
        frames=len(samples),
        keyframes=tuple((s.presentation_time - origin) / scale for s in samples if s.keyframe),
    )


def _drop(root: Path, relative: PurePosixPath, reason: str) -> None:
    removed = remove_file(root / relative, root)
    event = "salvage.deleted" if removed else "salvage.delete_failed"
    _log.warning(event, path=relative.as_posix(), reason=reason)


class Salvage:
    """Finds, repairs and indexes the segment files of a camera that the index lacks."""

    def __init__(self, index: RecordingIndex) -> None:
        self.index = index

    async def camera(self, camera_id: int) -> list[IndexedSegment]:
        """Salvage the camera's unindexed files, oldest first; the segments indexed. No
        recorder of the camera may be writing meanwhile. `StoreUnavailable` passes up."""
        root = self.index.root
        last_end = await self.index.last_end(camera_id)
        since = None if last_end is None else last_end - SCAN_BACK
        files = await asyncio.to_thread(segment_files, root, camera_id, since)
        indexed = set() if since is None else await self.index.paths_since(camera_id, since)
        salvaged: list[IndexedSegment] = []
        for relative in files:
            if relative in indexed:
                continue
            record = await asyncio.to_thread(recover, root, relative, camera_id)
            if record is None:
                continue
            segment = await self.index.add_recovered(record, NAME_RESOLUTION)
            if segment is None:
                _log.error("salvage.overlaps", path=relative.as_posix(), camera=camera_id)
                continue
            salvaged.append(segment)
            _log.info(
                "salvage.indexed",
                path=relative.as_posix(),
                camera=camera_id,
                start=segment.record.start.isoformat(),
                end=segment.record.end.isoformat(),
                frames=segment.record.frames,
            )
        return salvaged
