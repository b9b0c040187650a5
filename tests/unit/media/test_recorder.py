"""The camera recorder's reconnect loop, driven by a fake clock and a file-backed source."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.core.errors import DeviceUnavailable
from safecity.media.recorder import AvSource, Backoff, CameraRecorder, Source
from safecity.media.records import (
    CameraOffline,
    CameraOnline,
    GapCause,
    GapRecord,
    RecorderReport,
    RecorderStopped,
    SegmentRecord,
)
from safecity.media.ring import RingBuffer
from safecity.media.segment_writer import SegmentWriter
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0


class PacedSource:
    """A file played at its own speed on the fake clock: each packet moves time on by its
    duration once it has been read."""

    def __init__(self, path: Path, clock: FakeClock) -> None:
        self._inner = AvSource(str(path))
        self._clock = clock

    @property
    def video(self) -> VideoStream:
        return self._inner.video

    def packets(self) -> Iterator[Packet[VideoStream]]:
        time_base = self.video.time_base
        assert time_base is not None
        for packet in self._inner.packets():
            yield packet
            self._clock.advance(float((packet.duration or 0) * time_base))

    def close(self) -> None:
        self._inner.close()


class FlakyCamera:
    """Plays the footage, then fails `outages` connection attempts, plays it again, and then
    asks the recorder to stop."""

    def __init__(self, path: Path, clock: FakeClock, stop: threading.Event, outages: int) -> None:
        self.path, self.clock, self.stop = path, clock, stop
        self.plan = ["play", *["fail"] * outages, "play"]
        self.attempts = 0

    def __call__(self, url: str) -> Source:
        self.attempts += 1
        step = self.plan.pop(0) if self.plan else "stop"
        if step == "play":
            return PacedSource(self.path, self.clock)
        if step == "stop":
            self.stop.set()
        raise DeviceUnavailable(f"{url}: connection refused")


def run(
    footage: Path, tmp_path: Path, *, outages: int, ring: RingBuffer | None = None
) -> tuple[list[RecorderReport], FakeClock, list[float]]:
    clock = FakeClock(T0)
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    reports: list[RecorderReport] = []
    recorder = CameraRecorder(
        3,
        "rtsp://cam-3.example/stream",
        SegmentWriter(3, tmp_path, segment_s=10),
        report=reports.append,
        clock=clock,
        opener=FlakyCamera(footage, clock, stop, outages),
        backoff=Backoff(initial_s=4, max_s=8),
        offline_after_s=10,
        ring=ring,
        sleep=sleep,
    )
    recorder.run(stop)
    return reports, clock, waits


def test_a_camera_lost_for_20_s_records_again_on_return_with_one_gap(
    footage: Path, tmp_path: Path
) -> None:
    reports, _clock, waits = run(footage, tmp_path, outages=2)

    assert waits[:3] == [4, 8, 8]  # capped exponential backoff: 20 s without the camera
    gaps = [r for r in reports if isinstance(r, GapRecord)]
    segments = [r for r in reports if isinstance(r, SegmentRecord)]
    lost_at = T0 + timedelta(seconds=30.16)
    back_at = lost_at + timedelta(seconds=20)
    assert gaps == [GapRecord(3, lost_at, back_at, GapCause.SOURCE_LOST)]
    assert next(s for s in segments if s.start >= back_at).start == back_at
    assert len(segments) == 6
    for before, after in itertools.pairwise(segments):
        assert before.end <= after.start


def test_offline_and_online_are_reported_around_the_outage(footage: Path, tmp_path: Path) -> None:
    reports, _clock, _waits = run(footage, tmp_path, outages=2)

    states = [r for r in reports if isinstance(r, CameraOnline | CameraOffline)]
    lost_at = T0 + timedelta(seconds=30.16)
    assert states == [
        CameraOnline(3, T0),
        CameraOffline(
            3,
            lost_at + timedelta(seconds=12),
            lost_at,
            "rtsp://cam-3.example/stream: connection refused",
        ),
        CameraOnline(3, lost_at + timedelta(seconds=20)),
    ]
    assert reports[-1] == RecorderStopped(3)


def test_a_short_drop_is_a_gap_but_not_an_offline_camera(footage: Path, tmp_path: Path) -> None:
    reports, _clock, waits = run(footage, tmp_path, outages=0)

    assert waits[0] == 4
    assert [r.cause for r in reports if isinstance(r, GapRecord)] == [GapCause.SOURCE_LOST]
    assert not [r for r in reports if isinstance(r, CameraOffline)]
    assert [r for r in reports if isinstance(r, CameraOnline)] == [CameraOnline(3, T0)]


def test_the_ring_is_cleared_when_the_source_is_lost(footage: Path, tmp_path: Path) -> None:
    ring = RingBuffer(seconds=10)

    run(footage, tmp_path, outages=0, ring=ring)

    assert len(ring) == 0


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4)

    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]


def test_a_missing_file_is_an_unavailable_device(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailable, match=r"nothing\.mp4"):
        AvSource(str(tmp_path / "nothing.mp4"))


def test_an_unreachable_camera_is_unavailable_and_its_password_is_not_told() -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        AvSource("rtsp://admin:s3cret@127.0.0.1:9/stream", open_timeout_s=0.5)

    assert "s3cret" not in str(caught.value)
    assert "rtsp://***@127.0.0.1:9/stream" in str(caught.value)


class TimingOutSource(PacedSource):
    """Plays a few packets, then fails the way FFmpeg does: its message names the URL."""

    def __init__(self, path: Path, clock: FakeClock, url: str) -> None:
        super().__init__(path, clock)
        self.url = url

    def packets(self) -> Iterator[Packet[VideoStream]]:
        yield from itertools.islice(super().packets(), 5)
        raise TimeoutError(110, f"Connection timed out: '{self.url}'")


def test_a_lost_stream_is_reported_without_the_camera_password(
    footage: Path, tmp_path: Path
) -> None:
    url = "rtsp://admin:s3cret@cam-3.example/stream"
    clock = FakeClock(T0)
    stop = threading.Event()
    reports: list[RecorderReport] = []
    opened: list[str] = []

    def opener(address: str) -> Source:
        opened.append(address)
        if len(opened) > 1:
            stop.set()
            raise DeviceUnavailable("stopped for the test")
        return TimingOutSource(footage, clock, address)

    def sleep(seconds: float) -> None:
        clock.advance(max(seconds, 30))  # long enough to be reported offline

    CameraRecorder(
        3,
        url,
        SegmentWriter(3, tmp_path, segment_s=10),
        report=reports.append,
        clock=clock,
        opener=opener,
        backoff=Backoff(initial_s=4, max_s=8),
        offline_after_s=10,
        sleep=sleep,
    ).run(stop)

    (offline,) = [r for r in reports if isinstance(r, CameraOffline)]
    assert "s3cret" not in offline.reason
    assert "rtsp://***@cam-3.example/stream" in offline.reason
