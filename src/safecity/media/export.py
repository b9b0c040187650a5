"""Cut one MP4 out of recorded segments for evidence: remux only, no decode, no re-encode.

The clip starts at the last keyframe at or before the requested start (so it plays from its
first frame and covers the start) and runs through the last frame shown before the requested
end. Packets are copied byte for byte; only their timestamps change.

Time: each segment's first packet is a keyframe whose pts is mapped to the segment's wall-clock
start, and every other packet to that anchor plus its media time (pts x time base). Segments may
each restart their timestamps at 0 or carry on from the previous one: both map the same way.
The clip's timestamps are the wall-clock offsets from its first frame, so they start at 0, run
on across segment boundaries and keep any hole between segments as a hole in time. When rounding
would make one segment's first packet decode no later than the previous one's last, that segment
is nudged forward just enough to keep decode timestamps strictly increasing.

B-frames: a packet shown at or after the end is still copied when a later packet (in decode order)
of the same group of pictures is shown before the end, since that frame may refer to it; the
clip then shows a frame or two past the end, which `ClipInfo.end` reports. Leading pictures of an
open GOP that are shown before the clip's first keyframe are dropped (their references are not in
the clip).

The output is a plain MP4 with `movflags=+faststart` (index first, so it plays while it
downloads), written beside `out` under a temporary name and renamed into place only when
complete. Video only: the recorder keeps no audio. Blocking work with no asyncio: run it in a
thread or worker process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Final, TypeAlias

import av
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.core.errors import Conflict, EvidenceError, NotFound, ValidationFailed

VideoPacket: TypeAlias = "Packet[VideoStream]"
Progress = Callable[[int, int], None]
"""`progress(done, total)`: milliseconds of the requested range exported so far, of its length."""

MP4_OPTIONS: Final[dict[str, str]] = {"movflags": "+faststart"}
CODECS: Final = frozenset({"h264", "hevc"})
_CHUNK: Final = 1 << 20
_MICROSECOND: Final = Fraction(1, 1_000_000)


@dataclass(frozen=True, slots=True)
class SegmentFile:
    """One recorded segment: its file and the wall-clock span the index gives it (UTC)."""

    path: Path
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_utc("segment start", self.start)
        _require_utc("segment end", self.end)
        if self.end <= self.start:
            raise ValidationFailed(f"segment {self.path} ends before it starts", field="end")


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What `export_clip` wrote: the span it really covers, its frames and its digest."""

    path: Path
    start: datetime
    end: datetime
    frames: int
    keyframes: int
    size_bytes: int
    codec: str
    sha256: str


def export_clip(
    segments: Sequence[SegmentFile],
    start: datetime,
    end: datetime,
    out: Path,
    progress: Progress | None = None,
) -> ClipInfo:
    """Remux the recording between `start` and `end` from `segments` (in time order) into the
    MP4 `out`. Raises `ValidationFailed` for a bad range, `NotFound` when no segment covers any
    of it, `Conflict` when `out` exists, and `EvidenceError` when a segment file is missing,
    unreadable or cannot be joined to the others."""
    _require_utc("start", start)
    _require_utc("end", end)
    if end <= start:
        raise ValidationFailed("the export range must end after it starts", field="end")
    chosen = [s for s in sorted(segments, key=lambda s: s.start) if s.end > start and s.start < end]
    if not chosen:
        raise NotFound(f"no recording between {_iso(start)} and {_iso(end)}")
    missing = [str(s.path) for s in chosen if not s.path.is_file()]
    if missing:
        raise EvidenceError(f"recorded segment file missing: {', '.join(missing)}")
    if out.exists():
        raise Conflict(f"{out} already exists; evidence files are never overwritten")
    partial = out.with_name(f".{out.name}.part")
    clip = _Clip(start, end, progress)
    try:
        with av.open(str(partial), "w", format="mp4", options=MP4_OPTIONS) as container:
            clip.write(chosen, container)
        partial.replace(out)
    except (av.FFmpegError, OSError) as exc:
        raise EvidenceError(f"cannot export to {out}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    if progress is not None:
        progress(clip.total_ms, clip.total_ms)
    return ClipInfo(
        path=out,
        start=clip.wall(0),
        end=clip.wall(clip.last_end),
        frames=clip.frames,
        keyframes=clip.keyframes,
        size_bytes=out.stat().st_size,
        codec=clip.codec,
        sha256=file_sha256(out),
    )


def file_sha256(path: Path) -> str:
    """The file's SHA-256, lower-case hex."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Clip:
    """The clip being written. Packets are first stamped in ticks (of `time_base`) from the
    requested start; once the clip's first keyframe is chosen (`first` ticks from the start)
    they are muxed at `ticks - first`, so the clip starts at 0."""

    start: datetime
    end: datetime
    progress: Progress | None
    stream: VideoStream | None = None
    time_base: Fraction = Fraction(1, 90_000)
    codec: str = ""
    first: int | None = None
    frames: int = 0
    keyframes: int = 0
    last_end: int = 0
    held: list[VideoPacket] = field(default_factory=list)  # shown after `end`, maybe referenced

    @property
    def total_ms(self) -> int:
        return _ms(self.end - self.start)

    def wall(self, ticks: int) -> datetime:
        """The wall-clock time of an output timestamp."""
        assert self.first is not None
        return self.start + _delta((self.first + ticks) * self.time_base)

    def write(self, segments: Sequence[SegmentFile], container: OutputContainer) -> None:
        """Choose the first keyframe, then copy packets until the end."""
        stamped = self._stamped(segments, container)
        try:
            self._select(stamped, container)
        finally:
            stamped.close()  # close the segment being read when the end comes first
        if self.frames == 0:
            raise NotFound(f"no frames recorded between {_iso(self.start)} and {_iso(self.end)}")

    def _select(self, packets: Iterator[VideoPacket], container: OutputContainer) -> None:
        gop: list[VideoPacket] = []  # from the last keyframe at or before the start
        for packet in packets:
            assert packet.pts is not None
            if packet.is_keyframe and (packet.pts <= 0 or not gop):
                gop = [packet]
                if packet.pts > 0:
                    break  # the recording begins after the start: begin with it
            elif packet.is_keyframe:
                packets = _chain([packet], packets)  # the next GOP: the choice is made
                break
            elif gop:
                gop.append(packet)
        if not gop:
            raise NotFound(f"no frames recorded between {_iso(self.start)} and {_iso(self.end)}")
        assert gop[0].pts is not None
        self.first = gop[0].pts
        end = _ticks(self.end - self.start, self.time_base) - self.first
        for packet in _chain(gop, packets):
            assert packet.pts is not None
            assert packet.dts is not None
            packet.pts -= self.first
            packet.dts -= self.first
            if packet.pts >= end:
                if packet.is_keyframe:
                    return
                self.held.append(packet)
            elif packet.pts >= 0:  # below 0: a leading picture of an open GOP, not decodable
                for early in self.held:
                    self._mux(early, container)
                self.held = []
                self._mux(packet, container)

    def _stamped(
        self, segments: Sequence[SegmentFile], container: OutputContainer
    ) -> Generator[VideoPacket, None, None]:
        """Every video packet of `segments`, stamped in ticks from the requested start."""
        last_dts: int | None = None
        for segment in segments:
            try:
                source = av.open(str(segment.path), "r")
            except (av.FFmpegError, OSError) as exc:
                raise EvidenceError(f"cannot read recorded segment {segment.path}: {exc}") from exc
            with source:
                stream = self._join(segment, source, container)
                base = stream.time_base
                assert base is not None
                anchor: int | None = None
                offset = _ticks(segment.start - self.start, self.time_base)
                frame = _frame_ticks(stream, self.time_base)
                for packet in _video_packets(segment, source, stream):
                    assert packet.pts is not None
                    assert packet.dts is not None
                    if anchor is None:
                        anchor = packet.pts
                        dts = offset + _rescale(packet.dts - anchor, base, self.time_base)
                        if last_dts is not None and dts <= last_dts:
                            offset += last_dts + 1 - dts  # rounding: keep decode order strict
                    packet.pts = offset + _rescale(packet.pts - anchor, base, self.time_base)
                    packet.dts = offset + _rescale(packet.dts - anchor, base, self.time_base)
                    packet.duration = _rescale(packet.duration or 0, base, self.time_base) or frame
                    last_dts = packet.dts
                    yield packet

    def _join(
        self, segment: SegmentFile, source: InputContainer, container: OutputContainer
    ) -> VideoStream:
        """The segment's video stream, checked against (or becoming) the clip's stream."""
        if not source.streams.video:
            raise EvidenceError(f"recorded segment {segment.path} has no video")
        stream = source.streams.video[0]
        codec = stream.codec_context.name
        if codec not in CODECS:
            raise EvidenceError(f"{segment.path}: codec {codec} is not H.264 or H.265")
        if self.stream is None:
            self.stream = container.add_stream_from_template(stream)
            self.time_base = stream.time_base or self.time_base
            self.stream.time_base = self.time_base
            self.codec = codec
            return stream
        template, current = self.stream.codec_context, stream.codec_context
        if (codec, current.width, current.height, current.extradata) != (
            self.codec,
            template.width,
            template.height,
            template.extradata,
        ):
            raise EvidenceError(
                f"{segment.path}: the stream changed ({codec} {current.width}x{current.height}) "
                "and cannot be joined to the earlier segments in one file"
            )
        return stream

    def _mux(self, packet: VideoPacket, container: OutputContainer) -> None:
        assert packet.pts is not None
        assert self.stream is not None
        packet.stream = self.stream
        packet.time_base = self.time_base
        container.mux(packet)
        self.frames += 1
        self.keyframes += packet.is_keyframe
        self.last_end = max(self.last_end, packet.pts + (packet.duration or 0))
        if packet.is_keyframe and self.progress is not None:
            done = min(_ms(self.wall(packet.pts) - self.start), self.total_ms)
            self.progress(max(done, 0), self.total_ms)


def _video_packets(
    segment: SegmentFile, source: InputContainer, stream: VideoStream
) -> Iterator[VideoPacket]:
    try:
        for packet in source.demux(stream):
            if packet.size and packet.pts is not None and packet.dts is not None:
                yield packet
    except av.FFmpegError as exc:
        raise EvidenceError(f"recorded segment {segment.path} is damaged: {exc}") from exc


def _chain(first: Sequence[VideoPacket], rest: Iterator[VideoPacket]) -> Iterator[VideoPacket]:
    yield from first
    yield from rest


def _frame_ticks(stream: VideoStream, base: Fraction) -> int:
    """One frame interval, for packets that carry no duration (0 when the rate is unknown)."""
    rate = stream.average_rate or stream.guessed_rate
    return round(1 / (Fraction(rate) * base)) if rate else 0


def _rescale(ticks: int, source: Fraction, target: Fraction) -> int:
    return round(ticks * source / target)


def _ticks(span: timedelta, base: Fraction) -> int:
    return round(Fraction(span // timedelta(microseconds=1)) * _MICROSECOND / base)


def _delta(seconds: Fraction) -> timedelta:
    return timedelta(microseconds=round(seconds / _MICROSECOND))


def _ms(span: timedelta) -> int:
    return span // timedelta(milliseconds=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _require_utc(name: str, moment: datetime) -> None:
    if moment.utcoffset() != timedelta(0):
        raise ValidationFailed(f"{name} must be a timezone-aware UTC time", field=name)
