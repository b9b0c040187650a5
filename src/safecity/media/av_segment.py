"""Segment files muxed by PyAV (FFmpeg's MP4 muxer, `movflags=frag_keyframe+empty_moov+
default_base_moof`): the segment writer's muxer for streams PyAV demuxed (files, and cameras
the native ingest cannot read). Samples are PyAV packets of the source stream, moved onto the
segment's stream with times relative to the segment's start.

`flush_packets=1`: the muxer holds a fragment's samples until the next keyframe and then writes
the `moof` + `mdat`; by default FFmpeg leaves what it wrote to a seekable file in its 32 KiB I/O
buffer, so a killed writer's file ends inside a fragment (even before the `moov`), and the last
one or two GOPs are lost. Flushed after every packet, each fragment is on disk once made: crash
salvage (`salvage`) keeps all but the GOP being recorded. A flush with nothing buffered costs
nothing, so this is one write per fragment, as before.

A write the disk refuses (ENOSPC, EDQUOT, EFBIG) leaves FFmpeg's file cut inside a fragment;
`close` then keeps what is whole, as salvage does after a crash (`mp4_index.read_fragments`):
the file is cut back to its last complete fragment and says so (`Kept`), or, with none
complete, is dropped.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Final, cast

import av
from av.container import OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.media.mp4_index import Mp4LayoutError, read_fragments
from safecity.media.mp4_init import FRAGMENTED_MP4
from safecity.media.segment_format import (
    DISK_REFUSALS,
    Kept,
    MuxRefused,
    Sample,
    release_file,
)

CODECS: Final = frozenset({"h264", "hevc"})
SEGMENT_OPTIONS: Final = {**FRAGMENTED_MP4, "flush_packets": "1"}


class AvSegmentFormat:
    """How to write segments of one PyAV input stream."""

    def __init__(self, stream: VideoStream) -> None:
        codec = stream.codec_context.name
        if codec not in CODECS:
            raise ValueError(f"cannot record codec {codec!r}")
        if stream.time_base is None:
            raise ValueError("the stream has no time base")
        self.codec = codec
        self.time_base: Fraction = stream.time_base
        rate = stream.guessed_rate or stream.average_rate
        self.frame_ticks = max(1, int(1 / (rate * self.time_base))) if rate else 1
        self._template = stream
        self._closed: Path | None = None  # the last segment closed

    def open(self, target: Path) -> AvSegmentFile:
        container = av.open(str(target), "w", format="mp4", options=SEGMENT_OPTIONS)
        try:
            stream = container.add_stream_from_template(self._template)
        except BaseException:
            container.close()
            raise
        return AvSegmentFile(self, container, stream, target)

    def finished(self, target: Path) -> None:
        """Release the page cache of the segment closed before `target`, written out by now, and
        queue `target`'s for writing (`release_written`): FFmpeg's muxer cannot be told to."""
        if self._closed is not None:
            release_file(self._closed)
        release_file(target)
        self._closed = target


class AvSegmentFile:
    def __init__(
        self,
        segment_format: AvSegmentFormat,
        container: OutputContainer,
        stream: VideoStream,
        target: Path,
    ) -> None:
        self._format = segment_format
        self._container = container
        self._stream = stream
        self._target = target
        self._time_base = segment_format.time_base  # of the times `add` takes
        self._refused = False  # the disk refused a write: the file may end inside a fragment

    def add(self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool) -> None:  # noqa: ARG002 - the packet knows
        packet = cast("Packet[VideoStream]", sample)
        packet.pts = pts
        packet.dts = dts
        packet.stream = self._stream
        try:
            self._container.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as exc:
            code = getattr(exc, "errno", None)
            if code in DISK_REFUSALS:
                self._refused = True
                raise OSError(code, os.strerror(code)) from exc
            raise MuxRefused(str(exc)) from exc

    def close(self, end: int | None) -> Kept | None:  # noqa: ARG002 - FFmpeg times the last packet
        try:
            self._container.close()
        except (av.FFmpegError, OSError) as exc:
            if not self._refused:
                raise MuxRefused(str(exc)) from exc
        kept = self._cut_back() if self._refused else None
        self._format.finished(self._target)
        return kept

    def _cut_back(self) -> Kept:
        """Keep the file's complete fragments only; `MuxRefused` when there are none."""
        try:
            found = read_fragments(self._target)
        except (OSError, Mp4LayoutError) as exc:
            raise MuxRefused(f"nothing whole is left after the refused write: {exc}") from exc
        samples = found.samples
        if not samples:
            raise MuxRefused("no fragment was whole before the refused write")
        origin = min(sample.presentation_time for sample in samples)
        last = max(sample.presentation_time + sample.duration for sample in samples)
        with self._target.open("r+b") as stream:
            stream.truncate(found.end)
        end = round(Fraction(last - origin, found.timescale) / self._time_base)
        return Kept(end, len(samples))
