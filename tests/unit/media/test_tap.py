"""The recorder's packet tap: listeners get every packet with its stream and arrival time, the
writer still records them all, and a failing listener is dropped without stopping the camera."""

from __future__ import annotations

import threading
from pathlib import Path

from safecity.core.errors import DeviceUnavailable
from safecity.media.recorder import AvSource, CameraRecorder, Source
from safecity.media.records import RecorderReport, SegmentRecord
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap, StreamInfo
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0


class Listener:
    def __init__(self, ring: RingBuffer | None = None) -> None:
        self.seen: list[tuple[StreamInfo, RingPacket, float]] = []
        self.ring_sizes: list[int] = []
        self._ring = ring

    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        self.seen.append((stream, packet, arrived))
        if self._ring is not None:
            self.ring_sizes.append(len(self._ring))


class Broken:
    calls = 0

    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        self.calls += 1
        raise RuntimeError("viewer bug")


def record_once(footage: Path, tmp_path: Path, tap: PacketTap, ring: RingBuffer | None) -> int:
    """Record the footage once through a tapped recorder; the number of segments written."""
    stop = threading.Event()
    opened: list[Source] = []

    def opener(url: str) -> Source:
        if opened:
            stop.set()
            raise DeviceUnavailable("gone")
        opened.append(AvSource(str(footage)))
        return opened[0]

    reports: list[RecorderReport] = []
    recorder = CameraRecorder(
        1,
        str(footage),
        SegmentWriter(1, tmp_path, segment_s=60),
        report=reports.append,
        clock=FakeClock(T0),
        opener=opener,
        ring=ring,
        tap=tap,
        sleep=lambda _: None,
    )
    recorder.run(stop)
    return sum(isinstance(r, SegmentRecord) for r in reports)


def test_listeners_get_every_packet_with_its_stream_and_arrival_time(
    footage: Path, tmp_path: Path
) -> None:
    tap = PacketTap()
    listener = Listener()
    tap.add(listener)
    segments = record_once(footage, tmp_path, tap, ring=None)
    assert segments == 1  # the writer recorded as before
    assert len(listener.seen) == 377
    assert len({id(stream) for stream, _, _ in listener.seen}) == 1
    arrivals = [arrived for _, _, arrived in listener.seen]
    assert arrivals == sorted(arrivals)
    assert listener.seen[0][1].keyframe


def test_listeners_are_called_before_the_ring_gets_the_packet(
    footage: Path, tmp_path: Path
) -> None:
    tap, ring = PacketTap(), RingBuffer(3600)
    listener = Listener(ring)
    tap.add(listener)
    record_once(footage, tmp_path, tap, ring)
    assert listener.ring_sizes[:3] == [0, 1, 2]


def test_a_failing_listener_is_removed_and_the_others_go_on(footage: Path, tmp_path: Path) -> None:
    tap, broken, good = PacketTap(), Broken(), Listener()
    tap.add(broken)
    tap.add(good)
    segments = record_once(footage, tmp_path, tap, ring=None)
    assert broken.calls == 1
    assert tap.listeners == (good,)
    assert len(good.seen) == 377
    assert segments == 1


def test_the_tap_knows_the_stream_only_while_connected(footage: Path, tmp_path: Path) -> None:
    tap = PacketTap()
    seen: list[object] = []

    class Probe:
        def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
            seen.append(tap.source)

    tap.add(Probe())
    record_once(footage, tmp_path, tap, ring=None)
    assert seen[0] is not None
    assert getattr(seen[0], "codec", None) == "h264"
    assert tap.source is None


def test_the_watcher_hears_of_the_first_listener_and_of_the_last_leaving() -> None:
    states: list[int] = []
    tap: PacketTap

    def watch() -> None:
        states.append(len(tap.listeners))

    tap = PacketTap(watch)
    one, two = Listener(), Listener()
    tap.add(one)
    tap.add(two)
    tap.remove(one)
    tap.remove(one)  # not there any more: no news
    tap.remove(two)
    assert states == [1, 0]
