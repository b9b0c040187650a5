"""Recorded segments made from real footage for the export and evidence tests: the footage cut
at keyframes into fragmented-MP4 files, as the recorder writes them, and a tiny H.265 clip.

Plain functions, not fixtures, so that the test modules own their fixtures and this file stays
independent of the recorder's `conftest.py`.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest
from av.video.frame import VideoFrame

from safecity.media.export import SegmentFile

FOOTAGE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "footage"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


def footage_file() -> Path:
    """The car-detection clip (H.264, 12.5 fps, 377 frames, a keyframe every 60 frames)."""
    path = (FOOTAGE / "car-detection.mp4").resolve()
    if not path.exists():
        pytest.skip(f"real footage not found at {path} (shared/data/footage is not checked out)")
    return path


@dataclass(frozen=True)
class Recording:
    """Segments cut from one source: the segment files and the source's frame times."""

    segments: list[SegmentFile]
    frame_s: Fraction
    frames: int
    keyframes: list[int]  # frame indices


def cut_segments(
    source: Path, folder: Path, *, every: int, layout: str = "fragmented", at: datetime = T0
) -> Recording:
    """Remux `source`'s video into one file per `every` keyframes, the first starting at `at`.

    Layouts: `fragmented`, fragmented MP4 whose timestamps restart at 0 in each file (as the
    recorder writes them: the fMP4 muxer starts every file at 0); `continuing`, plain MP4 keeping
    the source's running timestamps; `mpegts`, MPEG-TS (90 kHz, Annex B) keeping them too."""
    suffix, fmt, options, restart = {
        "fragmented": (".mp4", "mp4", FRAGMENTED, True),
        "continuing": (".mp4", "mp4", {}, False),
        "mpegts": (".ts", "mpegts", {}, False),
    }[layout]
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        assert stream.time_base is not None
        base = stream.time_base
        keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
        cuts = [*keyframes[::every], len(packets)]
        segments: list[SegmentFile] = []
        for number, (first, stop) in enumerate(itertools.pairwise(cuts)):
            path = folder / f"segment-{number}{suffix}"
            begin = packets[first].pts
            assert begin is not None
            last = max((p.pts or 0) + (p.duration or 0) for p in packets[first:stop])
            start, end = at + _span(begin * base), at + _span(last * base)
            shift = begin if restart else 0
            with av.open(str(path), "w", format=fmt, options=options) as out:
                target = out.add_stream_from_template(stream)
                for packet in packets[first:stop]:
                    assert packet.pts is not None
                    assert packet.dts is not None
                    packet.pts -= shift
                    packet.dts -= shift
                    packet.stream = target
                    out.mux(packet)
            segments.append(SegmentFile(path, start, end))
        rate = stream.average_rate
        assert rate is not None
        return Recording(segments, 1 / Fraction(rate), len(packets), keyframes)


def make_hevc(path: Path, *, frames: int = 100, rate: int = 25) -> Path:
    """`frames` of flat grey at `rate` fps with H.265 (libx265): a keyframe every second,
    B-frames, frame n of luma 2n."""
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV was built without libx265")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {
            "x265-params": f"keyint={rate}:min-keyint={rate}:scenecut=0:bframes=3:log-level=none"
        }
        for index in range(frames):
            frame = VideoFrame(160, 96, "yuv420p")
            for plane, value in zip(frame.planes, (index * 2 % 256, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@dataclass(frozen=True)
class Decoded:
    """What a player sees in a file: each frame's time (seconds from 0) and picture digest."""

    times: list[Fraction]
    digests: list[str]
    luma: list[int]  # the first pixel of each frame


def decode(path: Path) -> Decoded:
    times: list[Fraction] = []
    digests: list[str] = []
    luma: list[int] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        for frame in container.decode(stream):
            assert frame.pts is not None
            times.append(frame.pts * stream.time_base)
            plane = frame.planes[0]
            data = bytes(plane)
            rows = b"".join(
                data[row * plane.line_size : row * plane.line_size + plane.width]
                for row in range(plane.height)
            )
            digests.append(hashlib.sha256(rows).hexdigest())
            luma.append(rows[0])
    return Decoded(times, digests, luma)


def packet_times(path: Path) -> list[tuple[int, int]]:
    """(dts, pts) of every video packet in decode order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            (p.dts, p.pts)
            for p in container.demux(stream)
            if p.size and p.dts is not None and p.pts is not None
        ]


def _span(seconds: Fraction) -> timedelta:
    return timedelta(microseconds=round(seconds * 1_000_000))
