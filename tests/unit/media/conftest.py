"""Fixtures for the recorder tests: the real footage (skipped when absent), a tiny H.265 clip
made with libx265, and a helper that records a file through a segment writer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import pytest
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.media.fmp4_segment import Fmp4SegmentFormat
from safecity.media.mp4_init import build_init
from safecity.media.records import WriterReport
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import StreamInfo
from safecity.protocols.rtp import VideoCodec, decoder_config, is_parameter_set, split_sample
from safecity.protocols.rtp.access_unit import length_prefixed

FOOTAGE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "footage"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def footage() -> Path:
    """The car-detection clip: H.264, 12.5 fps, 377 frames, a keyframe every 4.8 s."""
    path = FOOTAGE / "car-detection.mp4"
    if not path.exists():
        pytest.skip(f"footage not found at {path}")
    return path


@pytest.fixture(scope="session")
def hevc_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of H.265 at 25 fps with a keyframe every second and B-frames."""
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV was built without libx265")
    path = tmp_path_factory.mktemp("hevc") / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {
            "x265-params": "keyint=25:min-keyint=25:scenecut=0:open-gop=0:log-level=none"
        }
        for index in range(100):
            frame = av.VideoFrame(160, 96, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([index * 2 % 256]) * plane.buffer_size)
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def media_duration(path: Path) -> float:
    """First pts to last pts + duration of the file's video, in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ends: list[int] = []
        starts: list[int] = []
        for packet in container.demux(stream):
            if packet.size and packet.pts is not None:
                starts.append(packet.pts)
                ends.append(packet.pts + (packet.duration or 0))
        assert stream.time_base is not None
        return float((max(ends) - min(starts)) * stream.time_base)


def frame_s(path: Path) -> float:
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
        assert rate is not None
        return float(1 / Fraction(rate))


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


PacketHook = Callable[[int, "Packet[VideoStream]"], None]
CODECS = {"h264": VideoCodec.H264, "hevc": VideoCodec.H265}


class Feed:
    """Packets of a PyAV stream into a writer, through PyAV's muxer or, `native`, as the native
    ingest gives them: NAL-unit samples into our own fMP4 boxes, whose init segment is made at
    the first keyframe, and a corrupt packet told as loss."""

    def __init__(self, writer: SegmentWriter, stream: VideoStream, *, native: bool) -> None:
        self.writer, self.stream, self.native = writer, stream, native
        codec = CODECS[stream.codec_context.name]
        config = decoder_config(codec, bytes(stream.codec_context.extradata or b""))
        self.codec, self.length_size, self.sets = codec, config.length_size, config.nal_units
        self.started = False

    def begin(self) -> list[WriterReport]:
        return [] if self.native else self.writer.set_source(self.stream)

    def __call__(self, packet: Packet[VideoStream], arrived: datetime) -> list[WriterReport]:
        if not self.native:
            return self.writer.write(packet, arrived)
        if packet.size == 0:
            return []
        if packet.is_corrupt or packet.pts is None:
            return self.writer.corrupt()
        units = split_sample(bytes(packet), self.length_size)
        reports: list[WriterReport] = []
        if not self.started:
            if not packet.is_keyframe:
                return []
            self.started = True
            pictures = [u for u in units if not is_parameter_set(self.codec, u)]
            time_base = self.stream.time_base or Fraction(1, 90_000)
            init = build_init(
                self.stream.codec_context.name, self.sets, pictures, time_base=time_base
            )
            info = StreamInfo(
                self.stream.codec_context.name,
                init.config,
                init.width,
                init.height,
                time_base,
                self.stream.guessed_rate or self.stream.average_rate,
            )
            reports += self.writer.use(Fmp4SegmentFormat(info, init.data))
        dts = packet.dts if packet.dts is not None else packet.pts
        sample = length_prefixed(units)
        duration = packet.duration or 0
        return reports + self.writer.write_sample(
            sample, packet.pts, dts, duration, packet.is_keyframe, arrived
        )


def record_file(
    writer: SegmentWriter,
    path: Path,
    *,
    at: datetime = T0,
    hook: PacketHook | None = None,
    close: bool = True,
    native: bool = False,
) -> list[WriterReport]:
    """Feed every video packet of `path` to `writer`, all arriving at `at`."""
    reports: list[WriterReport] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        feed = Feed(writer, stream, native=native)
        reports += feed.begin()
        for index, packet in enumerate(container.demux(stream)):
            if hook is not None:
                hook(index, packet)
            reports += feed(packet, at)
        if close:
            reports += writer.close()
    return reports
