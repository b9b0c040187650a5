"""The platform's side of the ingest workers (`media.ingest_workers` >= 1): the cameras sharded
over N processes, their reports brought back to the recording service's loop, the packets of
the cameras watched live handed to this process's taps, and a worker that dies started again.

Sharding is by camera id (`camera_id % N`), so a camera stays with its worker across restarts.
Each worker is spawned with its `WorkerShard` (what it needs from the store, each camera's last
indexed end, is looked up here first) and two one-way pipes, as the DC-09 receiver is (see
`receiver_process`): pickled orders go down; batches of `ingest_wire` messages come up, read by
one thread per worker. That thread posts reports to the loop, and for a camera being forwarded
it does what the ingest thread does in process: the tap's listeners get each packet (live
view's fragmenter runs there), then a ring that keeps the current GOP (`ring`: so live view
primes a new viewer the same way). When the thread reads the end of the pipe it closes the
worker's taps and posts `WorkerLost`, with the cameras that had not reported stopped; the
recording service restarts the worker then (after the reports before it are indexed and the
files the dead one had open are salvaged up to their last complete fragment, `salvage`, so the
new worker resumes after those). Packets never cross the bus.

Live view: a camera's tap here tells the pool (`watch`) when its first listener comes and its
last goes, and the camera's worker is told to `FORWARD` or `UNFORWARD` it; every forwarding has
a new session number, so packets of an earlier one still in the pipe are dropped. Snapshots ask
the worker for its ring's current GOP (`current_gop`), pre-alarm clips for its ring's packets
since a time (`packets_since`); both answers come up as `GOP` messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Final

import structlog

from safecity.core.errors import DeviceUnavailable
from safecity.media.engine import CameraFeed
from safecity.media.ingest_wire import (
    GopMessage,
    PacketMessage,
    StreamMessage,
    WireError,
    decode,
)
from safecity.media.ingest_worker import (
    FORWARD,
    GOP_REQUEST,
    RING_REQUEST,
    STOP,
    UNFORWARD,
    WorkerShard,
)
from safecity.media.recorder import Backoff
from safecity.media.records import GapCause, HostReport, RecorderStopped
from safecity.media.ring import RingBuffer
from safecity.media.tap import Gop, PacketTap, StreamInfo

_log = structlog.get_logger(__name__)

GOP_TIMEOUT_S: Final = 2.0
RING_TIMEOUT_S: Final = 5.0  # up to the whole ring: tens of MB through the pipe
JOIN_S: Final = 12.0  # a worker's own drain (10 s) and a little more
RESTART: Final = Backoff(initial_s=0.5, max_s=30.0)  # before a dead worker starts again
STEADY_S: Final = 30.0  # a worker that lived this long died by accident, not at every start

WorkerMain = Callable[[Any, WorkerShard, Connection, Connection], None]


@dataclass(frozen=True, slots=True)
class WorkerLost:
    """A worker's up pipe ended: it exited or died; `unstopped`: cameras that had not
    reported `RecorderStopped`."""

    index: int
    unstopped: tuple[int, ...]


PoolItem = HostReport | WorkerLost
Post = Callable[[list[PoolItem]], None]  # thread-safe: hands items to the loop


class _Worker:
    """One running worker process and the platform's ends of its pipes."""

    def __init__(
        self, shard: WorkerShard, process: BaseProcess, down: Connection, up: Connection
    ) -> None:
        self.shard = shard
        self.cameras = frozenset(feed.camera_id for feed in shard.feeds)
        self.process = process
        self.down = down
        self.up = up
        self.reader: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, order: tuple[Any, ...]) -> None:
        with self._lock, contextlib.suppress(OSError):  # gone (or closed): its reader tells
            self.down.send(order)

    def close_down(self) -> None:
        """Close the down pipe (the worker reads its end and stops)."""
        with self._lock:
            self.down.close()


@dataclass(slots=True)
class _Forwarding:
    """A camera whose packets its worker forwards here: the session and the current GOP."""

    session: int
    ring: RingBuffer
    stream: StreamInfo | None = None  # the session's current stream, once sent


class IngestWorkers:
    """N ingest worker processes; one `RecordingService.run` at a time uses them."""

    def __init__(self, count: int, main: WorkerMain, job: object) -> None:
        """`main(job, shard, down, up)` runs in each spawned process (a module-level function
        of the composition root, which builds the worker's engine from `job`)."""
        if count < 1:
            raise ValueError("at least one ingest worker")
        self.count = count
        self._main = main
        self._job = job
        self._lock = threading.Lock()
        self._taps: dict[int, PacketTap] = {}
        self._forwards: dict[int, _Forwarding] = {}
        self._workers: dict[int, _Worker] = {}
        self._shards: dict[int, tuple[CameraFeed, ...]] = {}
        self._sessions = itertools.count(1)
        self._requests: dict[int, asyncio.Future[Gop | None]] = {}
        self._request_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: dict[int, float] = {}  # time.monotonic() of each worker's start
        self._failures: dict[int, int] = {}  # deaths in a row soon after starting
        self.restarts = 0

    # -- what live view uses ------------------------------------------------------------------

    def tap(self, camera_id: int) -> PacketTap:
        with self._lock:
            found = self._taps.get(camera_id)
            if found is None:
                found = self._taps[camera_id] = PacketTap(functools.partial(self._watch, camera_id))
            return found

    def ring(self, camera_id: int) -> RingBuffer | None:
        """The current GOP of a camera being forwarded (None otherwise)."""
        found = self._forwards.get(camera_id)
        return None if found is None else found.ring

    async def current_gop(self, camera_id: int) -> Gop | None:
        """Ask the camera's worker for its stream and current GOP; None if it has none yet;
        `DeviceUnavailable` if the worker does not answer within `GOP_TIMEOUT_S`."""
        return await self._ask(camera_id, GOP_TIMEOUT_S, GOP_REQUEST)

    async def packets_since(self, camera_id: int, at: datetime) -> Gop | None:
        """Ask the camera's worker for its stream and its ring's packets from the keyframe at or
        before `at` (from the oldest kept, if `at` is older) to now; None if its ring is empty;
        `DeviceUnavailable` if the worker does not answer within `RING_TIMEOUT_S`."""
        return await self._ask(camera_id, RING_TIMEOUT_S, RING_REQUEST, at)

    @property
    def pids(self) -> dict[int, int | None]:
        """Each running worker's process id, by worker index."""
        return {index: worker.process.pid for index, worker in self._workers.items()}

    # -- what the recording service uses -------------------------------------------------------

    def shard(self, index: int) -> tuple[CameraFeed, ...]:
        return self._shards.get(index, ())

    def start(
        self, feeds: Sequence[CameraFeed], resume: Mapping[int, datetime | None], post: Post
    ) -> None:
        """Spawn a worker for each non-empty shard of `feeds`."""
        self._loop = asyncio.get_running_loop()
        self._shards = dict.fromkeys(range(self.count), ())
        for feed in feeds:
            index = feed.camera_id % self.count
            self._shards[index] = (*self._shards[index], feed)
        for index, shard in self._shards.items():
            if shard:
                self._spawn(index, resume, GapCause.RESTART, post)

    def restart_delay(self, index: int) -> float:
        """How long to wait before worker `index` starts again: longer while it keeps dying
        soon after each start (a crash loop must not spin)."""
        lived = time.monotonic() - self._started.get(index, 0.0)
        failures = self._failures.get(index, 0) + 1 if lived < STEADY_S else 1
        self._failures[index] = failures
        return RESTART.delay(failures)

    def restart(self, index: int, resume: Mapping[int, datetime | None], post: Post) -> None:
        """Start worker `index` again with its shard (its predecessor died: the hole in each
        camera's recording is a `source_lost` gap)."""
        self.restarts += 1
        self._spawn(index, resume, GapCause.SOURCE_LOST, post)

    def stop(self) -> None:
        """Tell every worker to stop recording (it drains, then exits)."""
        for worker in list(self._workers.values()):
            worker.send((STOP,))

    async def close(self) -> None:
        """Wait for every worker to exit (killed after `JOIN_S`) and its reader to end."""
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            worker.send((STOP,))
            worker.close_down()
        await asyncio.gather(*(self._end(worker) for worker in workers))

    @staticmethod
    async def _end(worker: _Worker) -> None:
        await asyncio.to_thread(worker.process.join, JOIN_S)
        if worker.process.is_alive():
            _log.warning("ingest_workers.killed", worker=worker.shard.index)
            worker.process.kill()
            await asyncio.to_thread(worker.process.join)
        if worker.reader is not None:
            await asyncio.to_thread(worker.reader.join, JOIN_S)
        worker.up.close()

    # -- internals ---------------------------------------------------------------------------

    def _spawn(
        self, index: int, resume: Mapping[int, datetime | None], cause: GapCause, post: Post
    ) -> None:
        feeds = self._shards[index]
        shard = WorkerShard(
            index, feeds, {f.camera_id: resume.get(f.camera_id) for f in feeds}, cause
        )
        context = multiprocessing.get_context("spawn")
        down_theirs, down = context.Pipe(duplex=False)
        up, up_theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=self._main,
            args=(self._job, shard, down_theirs, up_theirs),
            name=f"safecity-ingest-{index}",
            daemon=True,
        )
        process.start()
        self._started[index] = time.monotonic()
        down_theirs.close()
        up_theirs.close()
        worker = _Worker(shard, process, down, up)
        worker.reader = threading.Thread(
            target=self._read, args=(worker, post), name=f"ingest-reader-{index}", daemon=True
        )
        with self._lock:
            old = self._workers.get(index)
            self._workers[index] = worker
            for camera_id in worker.cameras & self._forwards.keys():
                self._forward(worker, camera_id)
        if old is not None:  # the dead one: its reader has ended
            old.close_down()
            old.up.close()
        worker.reader.start()
        _log.info("ingest_workers.started", worker=index, pid=process.pid, cameras=len(feeds))

    async def _ask(self, camera_id: int, timeout_s: float, kind: str, *args: Any) -> Gop | None:
        """Send `(kind, camera id, request id, *args)` to the camera's worker; its answer (None:
        no worker records the camera). A worker that does not answer in time is busy or dying:
        that is the service being unavailable, not the camera having no video."""
        loop = asyncio.get_running_loop()
        worker = self._worker_of(camera_id)
        if worker is None:
            return None
        request_id = next(self._request_ids)
        future: asyncio.Future[Gop | None] = loop.create_future()
        self._requests[request_id] = future
        try:
            worker.send((kind, camera_id, request_id, *args))
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            _log.warning("ingest_workers.no_answer", camera=camera_id, kind=kind)
            raise DeviceUnavailable(
                f"the ingest worker of camera {camera_id} did not answer within {timeout_s:g} s:"
                " try again shortly"
            ) from None
        finally:
            self._requests.pop(request_id, None)

    def _worker_of(self, camera_id: int) -> _Worker | None:
        worker = self._workers.get(camera_id % self.count)
        return worker if worker is not None and camera_id in worker.cameras else None

    def _watch(self, camera_id: int) -> None:
        """A tap's first listener came or its last left (any thread): follow its state now."""
        with self._lock:
            tap = self._taps.get(camera_id)
            wanted = tap is not None and bool(tap.listeners)
            current = self._forwards.get(camera_id)
            worker = self._worker_of(camera_id)
            if wanted and current is None:
                self._forwards[camera_id] = _Forwarding(0, RingBuffer(0))
                if worker is not None:
                    self._forward(worker, camera_id)
            elif not wanted and current is not None:
                del self._forwards[camera_id]
                if worker is not None:
                    worker.send((UNFORWARD, camera_id))

    def _forward(self, worker: _Worker, camera_id: int) -> None:
        """(Lock held.) A new forwarding session of the camera from `worker`."""
        session = next(self._sessions)
        self._forwards[camera_id] = _Forwarding(session, RingBuffer(0))  # the current GOP
        worker.send((FORWARD, camera_id, session))

    def _read(self, worker: _Worker, post: Post) -> None:
        """The reader thread of one worker's up pipe, until it ends."""
        stopped: set[int] = set()
        while True:
            try:
                messages = decode(worker.up.recv_bytes())
            except (EOFError, OSError):
                break
            except WireError as exc:  # cut short as the worker was killed mid-write
                _log.warning("ingest_workers.bad_batch", worker=worker.shard.index, error=str(exc))
                break
            reports: list[PoolItem] = []
            for message in messages:
                if isinstance(message, PacketMessage | StreamMessage | GopMessage):
                    self._media(message)
                    continue
                reports.append(message)
                if isinstance(message, RecorderStopped):
                    stopped.add(message.camera_id)
            if reports:
                post(reports)
        for camera_id in worker.cameras:
            tap = self._taps.get(camera_id)
            if tap is not None:
                tap.closed()
        unstopped = tuple(sorted(worker.cameras - stopped))
        post([WorkerLost(worker.shard.index, unstopped)])

    def _media(self, message: PacketMessage | StreamMessage | GopMessage) -> None:
        """Hand a forwarded packet or stream to the camera's tap, a GOP to its asker."""
        if isinstance(message, PacketMessage):
            found = self._forwards.get(message.camera_id)
            if found is None or found.session != message.session or found.stream is None:
                return  # an ended session's, or a camera nobody watches now
            if not message.primer:
                tap = self._taps.get(message.camera_id)
                if tap is not None and tap.listeners:
                    tap.packet(found.stream, message.packet, message.arrived)
            found.ring.push(message.packet)  # after the listeners, as the ingest thread does
        elif isinstance(message, StreamMessage):
            found = self._forwards.get(message.camera_id)
            if found is not None and found.session == message.session:
                found.stream = message.stream
                tap = self._taps.get(message.camera_id)
                if tap is not None:
                    tap.opened(message.stream)
        else:
            future = self._requests.get(message.request_id)
            loop = self._loop
            if future is not None and loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    loop.call_soon_threadsafe(_settle, future, message.gop)


def _settle(future: asyncio.Future[Gop | None], gop: Gop | None) -> None:
    if not future.done():
        future.set_result(gop)
