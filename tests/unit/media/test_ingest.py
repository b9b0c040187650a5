"""The native ingest of one camera, driven as the pull loop drives it, on a fake clock: access
units become segments, a 20 s outage is one gap with offline and online around it, loss is a
corrupt-stream gap, parameter sets may come in band, and a camera we cannot read falls back."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import av
import pytest

from safecity.media.ingest import B_FRAMES, NO_PARAMETER_SETS, NativeCamera
from safecity.media.recorder import Backoff
from safecity.media.records import (
    CameraOffline,
    CameraOnline,
    GapCause,
    GapRecord,
    RecorderReport,
    SegmentRecord,
)
from safecity.media.ring import RingBuffer
from safecity.media.ring_clip import build_clip
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap
from safecity.protocols.rtp import ParameterSets, is_parameter_set
from safecity.protocols.rtp.access_unit import AccessUnit, length_prefixed
from safecity.protocols.rtsp.track import VideoTrack
from safecity.sim.camera_source import Clip, encode_test_pattern, load_clip, synthetic_clip
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0

FRAME_S = 0.04
R = TypeVar("R")


@pytest.fixture(scope="module")
def clip() -> Clip:
    return synthetic_clip(seconds=2.0, width=160, height=96, fps=25)  # a keyframe every second


def track(clip: Clip, *, sets: bool = True) -> VideoTrack:
    return VideoTrack(
        codec=clip.codec,
        payload_type=96,
        clock_rate=90_000,
        parameter_sets=clip.parameter_sets if sets else ParameterSets(),
        control="rtsp://cam/stream/trackID=0",
        aggregate=None,
        framerate=25,
    )


def units(clip: Clip, start: int = 0) -> Iterator[AccessUnit]:
    """The clip looped for ever as the depacketiser gives it, RTP time from `start`."""
    period = clip.period
    for loop in itertools.count():
        for unit in clip.access_units:
            sets = tuple(u for u in unit.nal_units if is_parameter_set(clip.codec, u))
            data = length_prefixed(unit.nal_units)
            yield AccessUnit(data, start + loop * period + unit.pts, unit.keyframe, sets)


def in_order(clip: Clip, order: list[int]) -> Iterator[AccessUnit]:
    """The clip's first units, the n-th timed as frame `order[n]` (B-frames' decode order)."""
    stream = units(clip)
    return iter([next(stream)._replace(timestamp=3600 * n) for n in order])


class Camera:
    """A NativeCamera and the loop's part: connect when due, play, fail."""

    def __init__(self, clip: Clip, root: Path) -> None:
        self.clip, self.clock = clip, FakeClock(T0)
        self.reports: list[RecorderReport] = []
        self.fallbacks: list[str] = []
        self.ring = RingBuffer(10)
        self.native = NativeCamera(
            3,
            "rtsp://admin:pw@cam/stream",
            SegmentWriter(3, root, segment_s=1),
            report=self.reports.append,
            clock=self.clock,
            backoff=Backoff(initial_s=4, max_s=8),
            offline_after_s=10,
            ring=self.ring,
            tap=PacketTap(),
            fallback=lambda _camera, reason: self.fallbacks.append(reason),
        )
        self.stream = units(clip)

    def play(self, seconds: float, *, sets: bool = True, connect: bool = True) -> None:
        if connect:
            assert self.native.due()
            self.native.described(track(self.clip, sets=sets))
        for _ in range(round(seconds / FRAME_S)):
            self.native.units([next(self.stream)], 0.0)
            self.clock.advance(FRAME_S)

    def wait_until_due(self) -> None:
        while not self.native.due():
            self.clock.advance(0.5)
            self.native.tick()
        self.native._connected = False

    def of(self, kind: type[R]) -> list[R]:
        return [r for r in self.reports if isinstance(r, kind)]


def test_units_become_contiguous_segments_that_decode(clip: Clip, tmp_path: Path) -> None:
    camera = Camera(clip, tmp_path)

    camera.play(4.0)
    camera.native.finish()

    segments = camera.of(SegmentRecord)
    assert len(segments) == 4
    assert segments[0].start == T0
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
    for segment in segments:
        with av.open(str(tmp_path / segment.path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == segment.frames == 25
    assert camera.of(CameraOnline) == [CameraOnline(3, T0)]


@pytest.fixture(scope="module")
def hevc(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV was built without libx265")
    path = tmp_path_factory.mktemp("hevc") / "pattern.mp4"
    encode_test_pattern(path, encoder="libx265", width=160, height=96, seconds=2.0)
    return load_clip(path)


def test_h265_units_become_segments_with_an_hvcc_that_decode(hevc: Clip, tmp_path: Path) -> None:
    camera = Camera(hevc, tmp_path)

    camera.play(2.0)
    camera.native.finish()

    segments = camera.of(SegmentRecord)
    assert [s.codec for s in segments] == ["hevc", "hevc"]
    for segment in segments:
        with av.open(str(tmp_path / segment.path)) as container:
            assert container.streams.video[0].codec_context.name == "hevc"
            assert sum(1 for _ in container.decode(video=0)) == segment.frames == 25


def test_a_camera_lost_for_20_s_is_one_gap_with_offline_and_online_around_it(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    camera.play(10.0)
    lost_at = camera.clock.now()
    camera.native.ended("connection lost", fallback=False)
    for _ in range(2):  # two attempts refused: after 4 s, then 8 s
        camera.wait_until_due()
        camera.native.ended("connection refused", fallback=False)
    camera.wait_until_due()
    back_at = camera.clock.now()

    camera.play(3.0)
    camera.native.finish()

    assert back_at - lost_at == timedelta(seconds=20)  # capped backoff 4 + 8 + 8
    assert camera.of(GapRecord) == [GapRecord(3, lost_at, back_at, GapCause.SOURCE_LOST)]
    states = [r for r in camera.reports if isinstance(r, CameraOnline | CameraOffline)]
    assert states == [
        CameraOnline(3, T0),
        CameraOffline(3, lost_at + timedelta(seconds=10), lost_at, "connection refused"),
        CameraOnline(3, back_at),
    ]
    first_back = next(s for s in camera.of(SegmentRecord) if s.start >= back_at)
    assert first_back.start == back_at
    assert len(camera.ring) > 0


def test_lost_packets_make_a_corrupt_stream_gap_until_the_next_keyframe(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    camera.play(1.2)
    camera.stream = (
        u._replace(after_loss=True) if index == 0 else u
        for index, u in enumerate(units(clip, start=2 * 90_000))  # the next keyframe, 2 s on
    )

    camera.play(1.0, connect=False)  # the same connection goes on
    camera.native.finish()

    (gap,) = camera.of(GapRecord)
    assert gap.cause is GapCause.CORRUPT_STREAM
    assert gap.duration_s == pytest.approx(0.8)  # frames 30..49 never came


def test_parameter_sets_missing_from_the_sdp_are_taken_from_the_keyframe(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    tap = camera.native.tap
    assert tap is not None

    camera.play(2.0, sets=False)

    assert tap.source is not None
    assert (tap.source.width, tap.source.height) == (160, 96)
    assert tap.source.extradata.startswith(b"\x01")  # an avcC record
    assert len(camera.of(SegmentRecord)) == 1


def test_a_camera_the_native_path_cannot_read_is_handed_over(clip: Clip, tmp_path: Path) -> None:
    camera = Camera(clip, tmp_path)
    assert camera.native.due()

    camera.native.ended("no H.264 or H.265 video track (found JPEG)", fallback=True)

    assert camera.native.retired
    assert not camera.native.due()
    assert camera.fallbacks == ["no H.264 or H.265 video track (found JPEG)"]


def shown_times(path: Path) -> list[float]:
    """The presentation times of a file's pictures, in seconds, in decode order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        return [
            float(packet.pts * stream.time_base)
            for packet in container.demux(stream)
            if packet.size and packet.pts is not None
        ]


def assert_recorded_as_shown(camera: Camera, root: Path, sent: list[int]) -> None:
    """Every picture sent is in the segments, which decode, with its presentation time."""
    segments = camera.of(SegmentRecord)
    assert sum(s.frames for s in segments) == len(sent)
    first = min(sent)
    times: list[float] = []
    for segment in segments:
        offset = (segment.start - T0).total_seconds()
        path = root / segment.path
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == segment.frames
        times += [offset + t - min(shown_times(path)) for t in shown_times(path)]
    assert times == pytest.approx([(t - first) / 90_000 for t in sent], abs=1e-6)
    ring = camera.ring.last(60.0)
    assert all(a.dts < b.dts for a, b in itertools.pairwise(ring))
    assert all(p.dts <= p.pts for p in ring)


def test_a_camera_sending_b_frames_is_recorded_with_made_decode_times(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    gop = [0] + [f for anchor in range(3, 25, 3) for f in (anchor, anchor - 2, anchor - 1)]
    order = [25 * n + f for n in range(2) for f in gop]  # I P B B ..., two closed GOPs
    camera.stream = in_order(clip, order)

    camera.play(len(order) * FRAME_S)
    camera.native.finish()

    assert camera.fallbacks == []
    assert not camera.native.retired
    assert_recorded_as_shown(camera, tmp_path, [3600 * f for f in order])


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    path = tmp_path_factory.mktemp("pyramid") / "pattern.mp4"
    encode_test_pattern(path, width=160, height=96, seconds=2.0, b_frames=3)
    return load_clip(path)


@pytest.fixture(scope="module")
def hevc_pyramid(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV was built without libx265")
    path = tmp_path_factory.mktemp("hevc-pyramid") / "pattern.mp4"
    encode_test_pattern(path, encoder="libx265", width=160, height=96, seconds=2.0, b_frames=3)
    return load_clip(path)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_an_encoders_b_pyramid_is_recorded_natively_picture_for_picture(
    request: pytest.FixtureRequest, codec: str, tmp_path: Path
) -> None:
    pyramid: Clip = request.getfixturevalue("pyramid" if codec == "h264" else "hevc_pyramid")
    assert any(b.pts < a.pts for a, b in itertools.pairwise(pyramid.access_units))
    camera = Camera(pyramid, tmp_path)

    camera.play(2.0)
    camera.native.finish()

    assert camera.fallbacks == []
    sent = [unit.pts for unit in pyramid.access_units]
    assert_recorded_as_shown(camera, tmp_path, sent)
    # The pre-alarm clip from the ring (live view's muxing) plays every picture in order.
    assert camera.native.tap is not None
    assert camera.native.tap.source is not None
    clip = build_clip(camera.native.tap.source, camera.ring.last(60.0))
    assert clip is not None
    (tmp_path / "clip.mp4").write_bytes(clip.data)
    with av.open(str(tmp_path / "clip.mp4")) as container:
        shown = [frame.pts or 0 for frame in container.decode(video=0)]
    assert len(shown) == clip.frames == len(sent)
    assert shown == sorted(shown)


def test_b_frames_that_start_after_the_probation_still_hand_the_camera_over(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    order = [0, 1, 2, 3, 4, 5, 8, 6, 7, 11, 9, 10, 14, 12, 13]  # B-frames from the 7th on
    camera.stream = in_order(clip, order)

    camera.play(len(order) * FRAME_S)

    assert camera.fallbacks == [B_FRAMES]  # the third step back
    assert not camera.native.writer.recording
    assert 6 <= sum(s.frames for s in camera.of(SegmentRecord)) < len(order)


def test_a_connection_that_ends_on_probation_records_nothing_of_it(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)

    camera.play(3 * FRAME_S)  # a keyframe and two more, held
    camera.native.ended("connection lost: reset", fallback=False)
    camera.native.finish()

    assert camera.of(SegmentRecord) == []
    assert camera.of(CameraOnline) == []
    assert camera.fallbacks == []


def test_keyframes_without_any_parameter_sets_hand_the_camera_over(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    camera.stream = (
        u._replace(
            parameter_sets=(), data=length_prefixed(u.nal_units()[2:]) if u.keyframe else u.data
        )
        for u in units(clip)
    )  # the SPS and PPS stripped from every keyframe, and none in the SDP

    camera.play(3.0, sets=False)

    assert camera.fallbacks == [NO_PARAMETER_SETS]
    assert camera.of(SegmentRecord) == []


def test_a_connected_camera_without_recordable_video_is_reported_offline(
    clip: Clip, tmp_path: Path
) -> None:
    camera = Camera(clip, tmp_path)
    assert camera.native.due()
    camera.native.described(track(clip))  # playing, but no picture ever comes

    for _ in range(21):
        camera.clock.advance(0.5)
        camera.native.tick()

    assert camera.of(CameraOffline) == [
        CameraOffline(3, T0 + timedelta(seconds=10), T0, "connected, but no recordable video")
    ]
