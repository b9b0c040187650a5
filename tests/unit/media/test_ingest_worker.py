"""Inside an ingest worker (its main loop on a thread, its pipes in this process): the shard is
recorded and reported, a forwarded camera's packets go up primed with the current GOP, a
platform that falls behind costs that camera packets up to the next keyframe and nothing else,
a snapshot's GOP request and a clip's request for the packets since a time are answered from
the ring, and STOP drains every camera."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from av.packet import Packet
from av.video.stream import VideoStream

from safecity.media.engine import CameraFeed, IngestHost, RecordingOptions
from safecity.media.ingest_wire import (
    GopMessage,
    PacketMessage,
    StreamMessage,
    WireMessage,
    decode,
    packet_bytes,
    stream_bytes,
)
from safecity.media.ingest_worker import (
    FORWARD,
    GOP_REQUEST,
    RING_REQUEST,
    STOP,
    UNFORWARD,
    Forwarder,
    Uplink,
    WorkerShard,
    serve,
)
from safecity.media.recorder import AvSource, Backoff, Source
from safecity.media.records import CameraOnline, EngineChosen, RecorderStopped, SegmentRecord
from safecity.media.ring import RingBuffer
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0
from tests.unit.media.live_fixture import footage_packets

CAMERA = 4


class HeldSource:
    """The footage as a live camera sends it: every packet, then nothing until released."""

    def __init__(self, path: Path, start: threading.Event, hold: threading.Event) -> None:
        self._inner = AvSource(str(path))
        self._start = start
        self._hold = hold

    @property
    def video(self) -> VideoStream:
        return self._inner.video

    def packets(self) -> Iterator[Packet[VideoStream]]:
        self._start.wait(10)
        yield from self._inner.packets()
        self._hold.wait(10)

    def close(self) -> None:
        self._inner.close()


def pipes() -> tuple[Connection, Connection]:
    theirs, ours = multiprocessing.Pipe(duplex=False)
    return theirs, ours


def test_a_worker_records_forwards_answers_and_drains_on_stop(
    footage: Path, tmp_path: Path
) -> None:
    start, hold = threading.Event(), threading.Event()

    def opener(url: str) -> Source:
        return HeldSource(Path(url), start, hold)

    options = RecordingOptions(segment_s=5, backoff=Backoff(initial_s=60), ring_s=60)
    host = IngestHost(tmp_path, FakeClock(T0), options, opener=opener)
    shard = WorkerShard(0, (CameraFeed(CAMERA, str(footage), "/1/"),))
    down_theirs, down = pipes()
    up, up_theirs = pipes()
    worker = threading.Thread(target=serve, args=(host, shard, down_theirs, up_theirs))
    worker.start()
    down.send((FORWARD, CAMERA, 7))
    while not host.tap(CAMERA).listeners:  # the order has been carried out
        threading.Event().wait(0.01)
    start.set()
    with footage_packets(footage) as clip:
        expected = [p.data for p in clip.packets]
        keys = [i for i, p in enumerate(clip.packets) if p.keyframe]
    found: list[WireMessage] = []
    while sum(isinstance(m, PacketMessage) for m in found) < len(expected):
        assert up.poll(10), "the worker went quiet"
        found += decode(up.recv_bytes())
    down.send((UNFORWARD, CAMERA))
    down.send((GOP_REQUEST, CAMERA, 99))
    down.send((RING_REQUEST, CAMERA, 100, T0 - timedelta(seconds=1)))  # older than the ring
    while sum(isinstance(m, GopMessage) for m in found) < 2:
        assert up.poll(10), "the worker went quiet"
        found += decode(up.recv_bytes())
    down.send((STOP,))
    hold.set()
    worker.join(30)
    up_theirs.close()
    while up.poll(5):
        try:
            found += decode(up.recv_bytes())
        except EOFError:
            break

    assert not worker.is_alive()
    media = [m for m in found if isinstance(m, StreamMessage | PacketMessage)]
    assert isinstance(media[0], StreamMessage)
    assert media[0].session == 7
    assert media[0].stream.codec == "h264"
    forwarded = [m for m in media if isinstance(m, PacketMessage)]
    assert [m.packet.data for m in forwarded] == expected
    assert not any(m.primer for m in forwarded)  # forwarding began before the first packet
    answer, since = [m for m in found if isinstance(m, GopMessage)]
    assert answer.request_id == 99
    assert answer.gop is not None
    assert [p.data for p in answer.gop.packets] == expected[keys[-1] :]
    assert since.request_id == 100
    assert since.gop is not None
    assert since.gop.stream.codec == "h264"
    assert [p.data for p in since.gop.packets] == expected[keys[0] :]  # the whole ring (60 s)
    assert all(p.at == T0 for p in since.gop.packets)  # arrival times kept (the fake clock's)
    reports = [m for m in found if not isinstance(m, StreamMessage | PacketMessage | GopMessage)]
    assert reports[0] == EngineChosen(CAMERA, "pyav")
    assert CameraOnline(CAMERA, T0) in reports
    assert sum(isinstance(r, SegmentRecord) for r in reports) >= 2  # the last one at STOP
    assert reports[-1] == RecorderStopped(CAMERA)
    assert not host.tap(CAMERA).listeners  # unforwarded


def take(up: Connection, count: int) -> list[WireMessage]:
    found: list[WireMessage] = []
    while len(found) < count:
        assert up.poll(10)
        found += decode(up.recv_bytes())
    return found


def test_forwarding_primes_with_the_current_gop_from_the_ring(footage: Path) -> None:
    with footage_packets(footage) as clip:
        stream, packets = clip.stream, clip.packets
    ring = RingBuffer(60)
    for old in packets[:3]:
        ring.push(old)
    up, up_theirs = pipes()
    uplink = Uplink(up_theirs)
    uplink.start()
    forwarder = Forwarder(CAMERA, 2, uplink, lambda: ring)
    forwarder.packet(stream, packets[3], 1.0)
    forwarder.packet(stream, packets[4], 1.5)
    found = take(up, 6)
    uplink.close()

    assert isinstance(found[0], StreamMessage)
    sent = [m for m in found if isinstance(m, PacketMessage)]
    assert [(m.packet.data, m.primer) for m in sent] == [
        (packets[0].data, True),
        (packets[1].data, True),
        (packets[2].data, True),
        (packets[3].data, False),
        (packets[4].data, False),
    ]
    assert packets[0].keyframe


def test_a_platform_behind_costs_the_camera_packets_up_to_the_next_keyframe(
    footage: Path,
) -> None:
    with footage_packets(footage) as clip:
        stream, packets = clip.stream, clip.packets
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    first, second = keys[0], keys[1]
    room = len(stream_bytes(CAMERA, 1, stream)) + sum(
        len(packet_bytes(CAMERA, 1, p, 0.0)) for p in packets[first : first + 2]
    )
    up, up_theirs = pipes()
    uplink = Uplink(up_theirs, max_backlog=room)  # not started: nothing drains yet
    forwarder = Forwarder(CAMERA, 1, uplink, lambda: None)
    for packet in packets[first : first + 4]:
        forwarder.packet(stream, packet, 0.0)
    uplink.start()
    queued = decode(up.recv_bytes())  # everything that fitted, in one batch
    for packet in packets[first + 4 : second + 2]:
        forwarder.packet(stream, packet, 0.0)
    later = take(up, 2)
    uplink.close()

    assert [type(m).__name__ for m in queued] == ["StreamMessage", "PacketMessage", "PacketMessage"]
    assert [m.packet.data for m in later if isinstance(m, PacketMessage)] == [
        packets[second].data,
        packets[second + 1].data,
    ]
    assert forwarder.dropped == 2 + (second - first - 4)
