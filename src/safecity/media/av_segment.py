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
"""

from __future__ import annotations

import errno
from fractions import Fraction
from pathlib import Path
from typing import Final, cast

import av
from av.container import OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.media.mp4_init import FRAGMENTED_MP4
from safecity.media.segment_format import MuxRefused, Sample

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

    def open(self, target: Path) -> AvSegmentFile:
        container = av.open(str(target), "w", format="mp4", options=SEGMENT_OPTIONS)
        try:
            stream = container.add_stream_from_template(self._template)
        except BaseException:
            container.close()
            raise
        return AvSegmentFile(container, stream)


class AvSegmentFile:
    def __init__(self, container: OutputContainer, stream: VideoStream) -> None:
        self._container = container
        self._stream = stream

    def add(self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool) -> None:  # noqa: ARG002 - the packet knows
        packet = cast("Packet[VideoStream]", sample)
        packet.pts = pts
        packet.dts = dts
        packet.stream = self._stream
        try:
            self._container.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as exc:
            if getattr(exc, "errno", None) == errno.ENOSPC:
                raise OSError(errno.ENOSPC, "no space left on the device") from exc
            raise MuxRefused(str(exc)) from exc

    def close(self, end: int | None) -> None:  # noqa: ARG002 - FFmpeg times the last packet
        try:
            self._container.close()
        except av.FFmpegError as exc:
            raise MuxRefused(str(exc)) from exc
