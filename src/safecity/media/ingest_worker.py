"""The inside of one ingest worker process: its shard of cameras recorded by an `IngestHost`
(the same threads the platform process runs with `media.ingest_workers: 0`), its reports sent
up, and the packets of the cameras the platform watches live forwarded to it.

Blocking, no asyncio. The main thread reads the platform's orders from the down pipe (pickled
tuples, a handful per viewer session): `FORWARD` a camera under a session number, `UNFORWARD`
it, answer a `GOP_REQUEST` (a snapshot) or a `RING_REQUEST` (a pre-alarm clip: the packets
since a time) from the ring, `STOP`. The up pipe has one writer,
`Uplink`: the engines' threads queue encoded messages (`ingest_wire`) and its thread sends
whatever is ready as one batch, so a busy moment costs one write for many packets and an engine
thread never waits on the pipe. Forwarding is a tap listener on the engine's thread: it sends
the stream's parameters when they change, primes with the current GOP from the ring as live
view does in process, then every packet; when the platform falls `MAX_BACKLOG` behind it drops
that camera's packets until the next keyframe, and its reports are never dropped.

On `STOP`, or when the pipe closes (the platform is gone), recording stops: every camera closes
its segment and reports `RecorderStopped` (within `DRAIN_S`), the uplink is flushed, and the
function returns; the process then exits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Final

import structlog

from safecity.media.engine import CameraFeed, IngestHost
from safecity.media.ingest_wire import gop_bytes, packet_bytes, report_bytes, stream_bytes
from safecity.media.records import GapCause, HostReport, RecorderStopped
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.tap import Gop, StreamInfo

_log = structlog.get_logger(__name__)

FORWARD: Final = "forward"  # (FORWARD, camera id, session)
UNFORWARD: Final = "unforward"  # (UNFORWARD, camera id)
GOP_REQUEST: Final = "gop"  # (GOP_REQUEST, camera id, request id)
RING_REQUEST: Final = "ring"  # (RING_REQUEST, camera id, request id, since: datetime UTC)
STOP: Final = "stop"  # (STOP,)

DRAIN_S: Final = 10.0
MAX_BACKLOG: Final = 32 << 20  # bytes of forwarded packets queued before a camera skips


@dataclass(frozen=True, slots=True)
class WorkerShard:
    """What one worker records (pickled to it at start): its cameras, the end of each one's
    last indexed segment, and the cause of the hole since (a `restart`, or `source_lost` when
    the worker before it died)."""

    index: int
    feeds: tuple[CameraFeed, ...]
    resume: dict[int, datetime | None] = field(default_factory=dict)
    cause: GapCause = GapCause.RESTART


class Uplink:
    """The one writer of the up pipe: messages queued from any thread, sent in batches."""

    def __init__(self, pipe: Connection, max_backlog: int = MAX_BACKLOG) -> None:
        self._pipe = pipe
        self._max_backlog = max_backlog
        self._ready = threading.Condition()
        self._parts: list[bytes] = []
        self._bytes = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ingest-uplink", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, part: bytes) -> None:
        """Queue a message that must arrive (a report, an answer)."""
        with self._ready:
            self._parts.append(part)
            self._bytes += len(part)
            self._ready.notify()

    def offer(self, parts: list[bytes]) -> bool:
        """Queue messages that may be dropped (forwarded packets): False while the platform is
        `max_backlog` bytes behind."""
        size = sum(len(part) for part in parts)
        with self._ready:
            if self._bytes + size > self._max_backlog:
                return False
            self._parts += parts
            self._bytes += size
            self._ready.notify()
        return True

    def close(self) -> None:
        """Send what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._thread.is_alive():
            self._thread.join(DRAIN_S)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._parts and not self._closed:
                    self._ready.wait()
                if not self._parts:
                    return
                batch, self._parts, self._bytes = self._parts, [], 0
            try:
                self._pipe.send_bytes(b"".join(batch))
            except OSError:  # the platform is gone: nobody reads any more
                _log.info("ingest_worker.uplink_closed")
                return


class Forwarder:
    """A tap listener that forwards one camera's packets up under one session."""

    def __init__(
        self,
        camera_id: int,
        session: int,
        uplink: Uplink,
        ring: Callable[[], RingBuffer | None],
    ) -> None:
        self.camera_id = camera_id
        self.session = session
        self._uplink = uplink
        self._ring = ring
        self._sent: StreamInfo | None = None
        self._primed = False
        self._skipping = False
        self.dropped = 0

    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        if self._skipping and not packet.keyframe:
            self.dropped += 1
            return
        camera, session = self.camera_id, self.session
        parts: list[bytes] = []
        if stream is not self._sent:
            parts.append(stream_bytes(camera, session, stream))
        if not self._primed and not packet.keyframe:
            # Called before the engine pushes `packet` to the ring, as live view is in process:
            # the ring holds the current GOP up to the packet before it.
            ring = self._ring()
            for old in [] if ring is None else ring.last(0):
                parts.append(packet_bytes(camera, session, old, arrived, primer=True))
        parts.append(packet_bytes(camera, session, packet, arrived))
        if self._uplink.offer(parts):
            self._sent, self._primed, self._skipping = stream, True, False
        else:
            self._skipping = True
            self.dropped += 1


class _Orders:
    """The platform's orders, carried out on the worker's main thread."""

    def __init__(self, host: IngestHost, uplink: Uplink) -> None:
        self._host = host
        self._uplink = uplink
        self._forwarders: dict[int, Forwarder] = {}

    def follow(self, down: Connection) -> None:
        """Until `STOP` or the pipe closes."""
        while True:
            try:
                order = down.recv()
            except (EOFError, OSError):
                return
            kind = order[0]
            if kind == STOP:
                return
            if kind == FORWARD:
                self._forward(order[1], order[2])
            elif kind == UNFORWARD:
                self._unforward(order[1])
            elif kind == GOP_REQUEST:
                self._answer(order[1], order[2])
            elif kind == RING_REQUEST:
                self._answer(order[1], order[2], order[3])

    def _forward(self, camera_id: int, session: int) -> None:
        self._unforward(camera_id)
        ring = self._host.ring
        forwarder = Forwarder(camera_id, session, self._uplink, lambda: ring(camera_id))
        self._forwarders[camera_id] = forwarder
        self._host.tap(camera_id).add(forwarder)

    def _unforward(self, camera_id: int) -> None:
        forwarder = self._forwarders.pop(camera_id, None)
        if forwarder is not None:
            self._host.tap(camera_id).remove(forwarder)

    def _answer(self, camera_id: int, request_id: int, since: datetime | None = None) -> None:
        """The current GOP, or (`since`) the ring from the keyframe at or before that time."""
        ring = self._host.ring(camera_id)
        stream = self._host.tap(camera_id).source
        packets: list[RingPacket] = []
        if ring is not None:
            packets = ring.last(0) if since is None else ring.since(since)
        gop = Gop(stream, packets) if stream is not None and packets else None
        self._uplink.put(gop_bytes(request_id, camera_id, gop))


def serve(host: IngestHost, shard: WorkerShard, down: Connection, up: Connection) -> None:
    """Record `shard` on `host` and follow the platform's orders until told to stop."""
    uplink = Uplink(up)
    uplink.start()
    left = {feed.camera_id for feed in shard.feeds}
    lock = threading.Lock()
    finished = threading.Event()
    if not left:
        finished.set()

    def report(item: HostReport) -> None:
        uplink.put(report_bytes(item))
        if isinstance(item, RecorderStopped):
            with lock:
                left.discard(item.camera_id)
                if not left:
                    finished.set()

    stop = threading.Event()
    _log.info("ingest_worker.started", worker=shard.index, cameras=len(shard.feeds))
    try:
        host.start(shard.feeds, shard.resume, report, stop, cause=shard.cause)
        _Orders(host, uplink).follow(down)
    finally:
        stop.set()
        if not finished.wait(DRAIN_S):
            _log.warning("ingest_worker.drain_timed_out", worker=shard.index, left=len(left))
        uplink.close()
