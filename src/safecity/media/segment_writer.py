"""Remux one camera's video packets into fragmented-MP4 segment files (no decode, no transcode).

Blocking, CPU-and-disk work with no asyncio: a recorder thread (or worker process) calls it.
The timing and cutting below are the writer's; the muxer is a `SegmentFormat` chosen with the
source: `set_source(stream)` for a PyAV stream (FFmpeg's muxer, `av_segment`, fed PyAV packets
with `write`), `use(format)` with an `fmp4_segment.Fmp4SegmentFormat` for the native ingest
(our own boxes, fed NAL-unit samples with `write_sample`, loss told with `corrupt`).

Format: fragmented MP4 (`movflags=frag_keyframe+empty_moov+default_base_moof`) rather than plain
MP4. A plain MP4 writes its index (`moov`) only when closed, so a crash or power loss leaves an
unreadable file; a fragmented one has its header up front and a `moof`+`mdat` pair per GOP, so
every completed fragment of a killed writer still plays (`salvage` indexes them when recording
restarts), and the same fragments are what MSE in the browser consumes for playback. H.264 and
H.265 both go into MP4 unchanged.

Cutting: a segment is closed at the first keyframe at least `segment_s` of media time after its
own first keyframe, so every segment starts with a keyframe and plays alone. Files lie under
`<root>/<camera id>/<YYYY>/<MM>/<DD>/<start>.mp4` (UTC).

Time: the first keyframe's pts is mapped to the wall-clock time it arrived; every later time is
that anchor plus media time (pts x time base), so a segment's duration is exactly its media
duration and consecutive segments meet without overlap. When the mapping breaks (the source was
lost, media time stepped back or jumped by more than `max_jump_s`) the next keyframe is anchored
again at its arrival, never earlier than the end of the last segment, and the hole between is
reported as a gap with its cause. A corrupt packet (flagged corrupt, without a timestamp, or
refused by the muxer) closes the segment cleanly after the last good packet; packets are dropped
until the next keyframe, which opens a new segment on the same mapping, and the hole is a
`corrupt_stream` gap.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Final

from safecity.media.av_segment import CODECS, AvSegmentFormat
from safecity.media.mp4_init import FRAGMENTED_MP4
from safecity.media.records import DiskLow, GapCause, GapRecord, SegmentRecord, WriterReport
from safecity.media.segment_format import (
    DISK_REFUSALS,
    MuxRefused,
    Sample,
    SegmentFile,
    SegmentFormat,
)

if TYPE_CHECKING:
    from av.packet import Packet
    from av.video.stream import VideoStream

SUFFIX: Final = ".mp4"
OPEN_ATTEMPTS: Final = 3  # a folder pruned by retention between mkdir and open
NAME_RESOLUTION: Final = timedelta(milliseconds=1)  # a file name's start is cut to this
_NAME: Final = re.compile(r"(\d{8}T\d{6})\.(\d{3})Z(?:-[1-9]\d*)?" + re.escape(SUFFIX))
__all__ = [
    "CODECS",
    "FRAGMENTED_MP4",
    "NAME_RESOLUTION",
    "SUFFIX",
    "SegmentWriter",
    "disk_free",
    "segment_path",
    "segment_start",
]


def disk_free(path: Path) -> int:
    """Free bytes on the file system holding `path` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def segment_path(camera_id: int, start: datetime) -> PurePosixPath:
    """`<camera id>/<YYYY>/<MM>/<DD>/<YYYYMMDDTHHMMSS.mmm>Z.mp4`, relative to the root."""
    stamp = f"{start:%Y%m%dT%H%M%S}.{start.microsecond // 1000:03d}Z"
    return PurePosixPath(
        str(camera_id), f"{start:%Y}", f"{start:%m}", f"{start:%d}", stamp + SUFFIX
    )


def segment_start(name: str) -> datetime | None:
    """The start a segment file's name says (`segment_path`, with the `-<n>` a taken name
    gets), cut to the millisecond: the segment started in `[it, it + NAME_RESOLUTION)`.
    None for a name the writer does not give."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    try:
        second = datetime.strptime(found[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return second + timedelta(milliseconds=int(found[2]))


@dataclass
class _OpenSegment:
    file: SegmentFile
    relative: PurePosixPath
    start_pts: int
    start: datetime
    end_pts: int
    frames: int = 0
    keyframes: list[float] = field(default_factory=list)


class SegmentWriter:
    """One camera's segments. Feed it packets with `write`; tell it about breaks with
    `interrupt`; each call returns what it closed or found (segments, gaps, low disk)."""

    def __init__(
        self,
        camera_id: int,
        root: Path,
        *,
        segment_s: float,
        max_jump_s: float = 2.0,
        min_free_bytes: int = 0,
        resume_after: datetime | None = None,
        resume_cause: GapCause = GapCause.RESTART,
        free_bytes: Callable[[Path], int] = disk_free,
    ) -> None:
        """`resume_after`: the end of this camera's last indexed segment, if any; the first
        segment then reports the hole since it as a gap with `resume_cause` (`restart`; or
        `source_lost` when the process that recorded the camera died)."""
        self.camera_id = camera_id
        self.root = root
        self.segment_s = segment_s
        self.max_jump_s = max_jump_s
        self.min_free_bytes = min_free_bytes
        self._free_bytes = free_bytes
        self._last_end: datetime | None = resume_after
        self._cause: GapCause | None = resume_cause if resume_after is not None else None
        self._format: SegmentFormat | None = None
        self._time_base = Fraction(1, 90_000)
        self._tick = (1, 90_000)  # the time base as integers: exact float seconds, no Fraction
        self._codec = ""
        self._anchor: tuple[int, datetime] | None = None
        self._last_dts: int | None = None
        self._frame_ticks = 0
        self._segment: _OpenSegment | None = None

    @property
    def last_end(self) -> datetime | None:
        """Where the last closed segment ended."""
        return self._last_end

    @property
    def recording(self) -> bool:
        return self._segment is not None

    def set_source(self, stream: VideoStream) -> list[WriterReport]:
        """Use a (new) PyAV input stream: its codec parameters head every following segment.
        An open segment is closed first; the caller says why with `interrupt` beforehand."""
        try:
            segment_format = AvSegmentFormat(stream)
        except ValueError as exc:
            raise ValueError(f"camera {self.camera_id}: {exc}") from None
        return self.use(segment_format)

    def use(self, segment_format: SegmentFormat) -> list[WriterReport]:
        """Write the following segments with `segment_format` (a new source)."""
        reports = self._close_segment(None)
        self._format = segment_format
        self._time_base = segment_format.time_base
        self._tick = (segment_format.time_base.numerator, segment_format.time_base.denominator)
        self._codec = segment_format.codec
        self._anchor = None
        self._last_dts = None
        self._frame_ticks = segment_format.frame_ticks
        return reports

    def interrupt(self, cause: GapCause) -> list[WriterReport]:
        """The stream broke (lost, restarted): close the open segment; the next keyframe is
        anchored afresh and the hole reported as a gap with `cause`."""
        reports = self._close_segment(None)
        self._anchor = None
        self._last_dts = None
        self._cause = self._cause or cause
        return reports

    def close(self) -> list[WriterReport]:
        """Stop: close the open segment (no gap; a later start reports a `restart` gap)."""
        return self._close_segment(None)

    def write(self, packet: Packet[VideoStream], arrived: datetime) -> list[WriterReport]:
        """Take one PyAV packet of the source stream, which arrived at `arrived` (UTC)."""
        if packet.size == 0:
            return []
        pts = packet.pts
        if packet.is_corrupt or pts is None:
            return self._corrupt()
        dts = packet.dts if packet.dts is not None else pts
        return self._write(packet, pts, dts, packet.duration or 0, packet.is_keyframe, arrived)

    def write_sample(
        self, sample: bytes, pts: int, dts: int, duration: int, keyframe: bool, arrived: datetime
    ) -> list[WriterReport]:
        """Take one sample of a native source (times in its time base; duration 0: unknown)."""
        return self._write(sample, pts, dts, duration, keyframe, arrived)

    def corrupt(self) -> list[WriterReport]:
        """Packets were lost: close after the last good sample and wait for a keyframe; the
        hole is a `corrupt_stream` gap."""
        return self._corrupt()

    def _write(
        self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool, arrived: datetime
    ) -> list[WriterReport]:
        reports: list[WriterReport] = []
        if self._last_dts is not None:
            step = self._seconds(dts - self._last_dts)
            if step <= 0 or step > self.max_jump_s:
                reports += self.interrupt(GapCause.TIMESTAMP_JUMP)
        self._last_dts = dts
        if duration:
            self._frame_ticks = duration
        segment = self._segment
        if keyframe:
            if segment is not None and self._seconds(pts - segment.start_pts) >= self.segment_s:
                reports += self._close_segment(pts)
                segment = None
            if segment is None:
                segment, opened = self._open_segment(pts, arrived)
                reports += opened
        if segment is None:
            return reports  # waiting for a keyframe
        return reports + self._mux(segment, sample, pts, dts, duration, keyframe)

    # -- internals ---------------------------------------------------------------------------

    def _seconds(self, ticks: int) -> float:
        numerator, denominator = self._tick
        return ticks * numerator / denominator  # correctly rounded, as float(Fraction) is

    def _wall(self, pts: int) -> datetime:
        assert self._anchor is not None
        anchor_pts, anchor_at = self._anchor
        return anchor_at + timedelta(seconds=self._seconds(pts - anchor_pts))

    def _corrupt(self) -> list[WriterReport]:
        """Close after the last good packet; keep the mapping; wait for the next keyframe."""
        reports = self._close_segment(None)
        if self._last_end is not None:
            self._cause = self._cause or GapCause.CORRUPT_STREAM
        return reports

    def _open_segment(
        self, pts: int, arrived: datetime
    ) -> tuple[_OpenSegment | None, list[WriterReport]]:
        if self._format is None:
            raise RuntimeError("set_source() or use() must come before write()")
        if self._anchor is None:
            at = arrived if self._last_end is None else max(arrived, self._last_end)
            self._anchor = (pts, at)
        start = self._wall(pts)
        if self._last_end is not None and start < self._last_end:
            self._anchor = (pts, self._last_end)  # never overlap the previous segment
            start = self._last_end
        reports: list[WriterReport] = []
        if self._last_end is not None and start > self._last_end:
            cause = self._cause or GapCause.TIMESTAMP_JUMP
            reports.append(GapRecord(self.camera_id, self._last_end, start, cause))
        self._cause = None
        free = self._free_bytes(self.root)
        if free < self.min_free_bytes:
            reports.append(DiskLow(self.camera_id, free))
        relative = self._free_name(segment_path(self.camera_id, start))
        target = self.root / relative
        try:
            opened = self._open_file(self._format, target)
        except OSError as exc:
            if exc.errno not in DISK_REFUSALS:
                raise
            return None, [*reports, *self._write_failed(start)]
        segment = _OpenSegment(opened, relative, pts, start, pts)
        self._segment = segment
        return segment, reports

    @staticmethod
    def _open_file(segment_format: SegmentFormat, target: Path) -> SegmentFile:
        """Make the folder and open the file. Retention prunes the folders it empties, from
        another thread: when that removed this folder between the two, make it again."""
        for _ in range(OPEN_ATTEMPTS - 1):
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                return segment_format.open(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        return segment_format.open(target)

    def _free_name(self, relative: PurePosixPath) -> PurePosixPath:
        candidate, n = relative, 0
        while (self.root / candidate).exists():
            n += 1
            candidate = relative.with_name(f"{relative.stem}-{n}{SUFFIX}")
        return candidate

    def _mux(
        self,
        segment: _OpenSegment,
        sample: Sample,
        pts: int,
        dts: int,
        duration: int,
        keyframe: bool,
    ) -> list[WriterReport]:
        duration = duration or self._frame_ticks
        start = segment.start_pts
        try:
            segment.file.add(sample, pts - start, dts - start, duration, keyframe)
        except OSError as exc:
            if exc.errno in DISK_REFUSALS:
                return self._write_failed(segment.start)
            return self._corrupt()
        except MuxRefused:
            return self._corrupt()
        if keyframe:
            segment.keyframes.append(self._seconds(pts - start))
        segment.frames += 1
        segment.end_pts = max(segment.end_pts, pts + duration)
        return []

    def _write_failed(self, at: datetime) -> list[WriterReport]:
        """The disk is full: close what was written, report low disk (retention frees space)
        and try again at the next keyframe; the hole is a `disk_full` gap."""
        reports = self._close_segment(None)
        self._cause = self._cause or GapCause.DISK_FULL
        if self._last_end is None:
            self._last_end = at
        free = self._free_bytes(self.root)
        reports.append(DiskLow(self.camera_id, free))
        return reports

    def _close_segment(self, end_pts: int | None) -> list[WriterReport]:
        """Close the open segment, ending at `end_pts` (the next segment's first keyframe) or,
        when the stream broke, after the last packet written."""
        segment = self._segment
        if segment is None:
            return []
        self._segment = None
        target = self.root / segment.relative
        end_ticks = segment.end_pts if end_pts is None else end_pts
        try:
            kept = segment.file.close(end_ticks - segment.start_pts)
        except (MuxRefused, OSError):
            target.unlink(missing_ok=True)  # the fragments cannot be trusted: drop the file
            return []
        if kept is not None:  # a refused write cost the file its last samples
            end_ticks = segment.start_pts + kept.end
            segment.frames = kept.frames
            shown = self._seconds(kept.end)
            segment.keyframes = [at for at in segment.keyframes if at < shown]
        if segment.frames == 0:
            target.unlink(missing_ok=True)
            return []
        end = self._wall(end_ticks)
        self._last_end = end
        record = SegmentRecord(
            camera_id=self.camera_id,
            start=segment.start,
            end=end,
            bytes=target.stat().st_size,
            path=segment.relative,
            codec=self._codec,
            frames=segment.frames,
            keyframes=tuple(segment.keyframes),
        )
        return [record]
