"""The video a simulated camera serves: one H.264 or H.265 clip, loaded once into memory as
access units (NAL units, 90 kHz times, keyframe flag), never decoded or re-encoded.

A file is demuxed with PyAV; MP4/Matroska samples (ISO/IEC 14496-15 length-prefixed, parameter
sets in `avcC`/`hvcC`) and Annex B streams are both read. Each keyframe access unit gets the
parameter sets in front when it lacks them, so that a client may start decoding at any
keyframe. `synthetic_clip` encodes FFmpeg's `testsrc2` pattern (colour bars with a burnt-in
clock `HH:MM:SS.mmm` and frame counter) once with libx264 into an in-memory MP4 and loads that.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Final

import av
import av.error
import av.filter
from av.video.frame import PictureType

from safecity.core.errors import ConfigError
from safecity.protocols.rtp import (
    ParameterSets,
    RtpError,
    VideoCodec,
    decoder_config,
    is_parameter_set,
    parameter_sets,
    split_sample,
)

CLOCK_RATE: Final = 90000
CODECS: Final = {"h264": VideoCodec.H264, "hevc": VideoCodec.H265}
SYNTHETIC: Final = "synthetic"


@dataclass(frozen=True)
class AccessUnit:
    """One coded picture; times in 90 kHz ticks from the clip's first presentation time."""

    nal_units: tuple[bytes, ...]
    pts: int
    dts: int
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    codec: VideoCodec
    width: int
    height: int
    frame_rate: float
    parameter_sets: ParameterSets
    access_units: tuple[AccessUnit, ...]
    period: int  # 90 kHz ticks from one loop's start to the next

    @property
    def seconds(self) -> float:
        return self.period / CLOCK_RATE


def load_source(source: str, *, max_seconds: float | None = None) -> Clip:
    """`synthetic` or a path to a video file; `ConfigError` if it cannot be served."""
    if source == SYNTHETIC:
        return synthetic_clip(seconds=max_seconds or 10.0)
    return load_clip(Path(source), max_seconds=max_seconds)


def load_clip(source: Path | BinaryIO, *, max_seconds: float | None = None) -> Clip:
    """The first video stream of a file, up to `max_seconds` of it (in decode order)."""
    try:
        with av.open(source, "r") as container:
            assert isinstance(container, av.container.InputContainer)
            if not container.streams.video:
                raise ConfigError(f"{source}: no video stream")
            return _demux(container, container.streams.video[0], max_seconds, str(source))
    except av.error.FFmpegError as exc:
        raise ConfigError(f"{source}: cannot read the video ({exc})") from exc
    except RtpError as exc:
        raise ConfigError(f"{source}: malformed H.264/H.265 samples ({exc})") from exc


def _demux(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    max_seconds: float | None,
    name: str,
) -> Clip:
    codec = CODECS.get(stream.codec_context.name)
    if codec is None:
        raise ConfigError(f"{name}: {stream.codec_context.name} video, need H.264 or H.265")
    config = decoder_config(codec, bytes(stream.codec_context.extradata or b""))
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    step = round(CLOCK_RATE / rate)
    time_base = stream.time_base or Fraction(1, CLOCK_RATE)
    raw: list[tuple[list[bytes], int, int, bool, int]] = []
    in_band: list[bytes] = list(config.nal_units)
    for packet in container.demux(stream):
        if packet.size == 0 or packet.pts is None:
            continue
        pts = round(packet.pts * time_base * CLOCK_RATE)
        dts = round(packet.dts * time_base * CLOCK_RATE) if packet.dts is not None else pts
        duration = round(packet.duration * time_base * CLOCK_RATE) if packet.duration else step
        if not raw and not packet.is_keyframe:
            continue  # a clip starts at a keyframe
        if max_seconds is not None and raw and dts - raw[0][2] >= max_seconds * CLOCK_RATE:
            break
        units = split_sample(bytes(packet), config.length_size)
        in_band += [unit for unit in units if is_parameter_set(codec, unit)]
        raw.append((units, pts, dts, packet.is_keyframe, duration))
    if not raw:
        raise ConfigError(f"{name}: no keyframe to start from")
    sets = parameter_sets(codec, in_band)
    first_pts = min(pts for _, pts, _, _, _ in raw)
    first_dts = raw[0][2]
    period = max(pts + duration for _, pts, _, _, duration in raw) - first_pts
    units_out = tuple(
        AccessUnit(
            _with_parameter_sets(codec, units, sets) if key else tuple(units),
            pts - first_pts,
            dts - first_dts,
            key,
        )
        for units, pts, dts, key, _ in raw
    )
    return Clip(
        codec=codec,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        frame_rate=float(rate),
        parameter_sets=sets,
        access_units=units_out,
        period=max(period, step),
    )


def _with_parameter_sets(
    codec: VideoCodec, units: list[bytes], sets: ParameterSets
) -> tuple[bytes, ...]:
    if any(is_parameter_set(codec, unit) for unit in units):
        return tuple(units)
    return (*sets.units(), *units)


def pattern_frames(
    *, width: int = 640, height: int = 360, fps: int = 25, seconds: float = 10.0
) -> Iterator[av.VideoFrame]:
    """FFmpeg's testsrc2 frames (yuv420p) with its burnt-in clock and frame counter."""
    graph = av.filter.Graph()
    source = graph.add("testsrc2", f"size={width}x{height}:rate={fps}:duration={seconds}")
    convert = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    source.link_to(convert)
    convert.link_to(sink)
    graph.configure()
    while True:
        try:
            frame = sink.pull()
        except (av.error.EOFError, av.error.BlockingIOError):
            return
        assert isinstance(frame, av.VideoFrame)
        yield frame


def encode_test_pattern(
    target: Path | BinaryIO,
    *,
    encoder: str = "libx264",
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    seconds: float = 10.0,
    gop_seconds: float = 1.0,
    bit_rate: int = 800_000,
    b_frames: int = 0,
) -> None:
    """Write the test pattern as an MP4 (a keyframe every `gop_seconds`; no B-frames unless
    `b_frames`, then up to that many between anchors, in a pyramid)."""
    gop = max(1, round(fps * gop_seconds))
    x264 = {"tune": "zerolatency"} if not b_frames else {}
    b264 = f"bframes={b_frames}:b-pyramid=normal" if b_frames else "bframes=0"
    b265 = f"bframes={b_frames}:b-pyramid=1" if b_frames else "bframes=0"
    options = {
        "libx264": {"preset": "veryfast", **x264, "x264-params": f"scenecut=0:{b264}"},
        "libx265": {"preset": "veryfast", "x265-params": f"log-level=error:scenecut=0:{b265}"},
    }.get(encoder, {})
    with av.open(target, "w", format="mp4") as container:
        stream = container.add_stream(encoder, rate=fps, options=options)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bit_rate
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = b_frames
        for index, frame in enumerate(
            pattern_frames(width=width, height=height, fps=fps, seconds=seconds)
        ):
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            frame.pict_type = PictureType.NONE  # testsrc2 marks every frame I: a forced IDR
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def synthetic_clip(
    *, seconds: float = 10.0, width: int = 640, height: int = 360, fps: int = 25
) -> Clip:
    """The test pattern encoded once with libx264 (GOP 1 s), loaded from memory."""
    buffer = io.BytesIO()
    encode_test_pattern(buffer, width=width, height=height, fps=fps, seconds=seconds)
    buffer.seek(0)
    return load_clip(buffer)
