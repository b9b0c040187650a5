"""The async side of recording: where the ingest engines run, and what becomes of their reports:
indexed in the store and published on the bus (here, in the platform's process, which alone
holds the store and the bus), with low disk waking retention.

The engines themselves (`engine.IngestHost`: the native pull loop on one selector thread, PyAV
recorder threads, the segment writers, ring buffers and taps) run either on threads of this
process (`media.ingest_workers: 0`) or, with N >= 1, in N ingest worker processes that each
record a shard of the cameras with the same host (`worker_pool`, `ingest_worker`). Either way
their reports reach this loop in order, and `run` handles them one at a time (segments waiting
together are indexed in one transaction, still in order): so when a worker
dies, every report it sent is indexed, then the files its writers had open are salvaged
(`salvage`: indexed up to their last complete fragment), before its cameras' last indexed end
is read again and the worker restarted, and the hole after each becomes one `source_lost` gap.
The same salvage runs for every camera as `run` starts (the platform itself may have been
killed), except a camera whose recorder from an earlier `run` never reported stopping.

Remuxing copies packets without decoding them, so threads cost little CPU; what the workers buy
is that parsing, remuxing and writing 100s of cameras leave the platform's GIL and event loop
to the API and the alarms, and use more than one core. Live view reads packets through
`tap`/`ring` and snapshots through `current_gop`, the same in both modes (with workers the
packets of a watched camera are forwarded over a pipe, never over the bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final

import structlog

from safecity.bus.port import EventBus
from safecity.core.clock import Clock
from safecity.core.errors import StoreUnavailable
from safecity.core.events import (
    CameraCameOnline,
    CameraWentOffline,
    RecordingGapFound,
    SegmentRecorded,
)
from safecity.media.engine import CameraFeed, IngestHost, PullLoop, RecordingOptions
from safecity.media.index import RecordingIndex
from safecity.media.recorder import Opener
from safecity.media.records import (
    CameraOffline,
    CameraOnline,
    DiskLow,
    EngineChosen,
    GapRecord,
    HostReport,
    RecorderStopped,
    SegmentRecord,
)
from safecity.media.retention import Retention
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.salvage import Salvage
from safecity.media.tap import Gop, PacketTap
from safecity.media.worker_pool import IngestWorkers, PoolItem, WorkerLost

__all__ = ["CameraFeed", "RecordingOptions", "RecordingService"]

_log = structlog.get_logger(__name__)

DRAIN_S: Final = 10.0
SEGMENT_BATCH: Final = 50  # segments indexed in one transaction, when that many are waiting


class RecordingService:
    """Records a set of cameras until cancelled."""

    def __init__(
        self,
        index: RecordingIndex,
        bus: EventBus,
        clock: Clock,
        options: RecordingOptions,
        *,
        retention: Retention | None = None,
        opener: Opener | None = None,
        pull: PullLoop | None = None,
        workers: IngestWorkers | None = None,
    ) -> None:
        """`workers`: record in those processes (each builds its own host); else on threads
        here, with `opener` (PyAV sources) and `pull` (the native loop)."""
        self.index = index
        self.bus = bus
        self.clock = clock
        self.options = options
        self.retention = retention
        self.workers = workers
        self._host = IngestHost(index.root, clock, options, opener=opener, pull=pull)
        self._salvage = Salvage(index)
        self._recording: set[int] = set()  # cameras started whose RecorderStopped is to come
        self.engines: dict[int, str] = {}  # camera id: "native" or "pyav", as last started

    def ring(self, camera_id: int) -> RingBuffer | None:
        """The camera's last seconds of packets (with workers: the current GOP of a camera
        being watched, as live view primes a new viewer from it)."""
        if self.workers is not None:
            return self.workers.ring(camera_id)
        return self._host.ring(camera_id)

    def tap(self, camera_id: int) -> PacketTap:
        """The camera's packet tap (live view), made on first use and kept across restarts of
        the recorders, so a listener may register before the camera is connected."""
        if self.workers is not None:
            return self.workers.tap(camera_id)
        return self._host.tap(camera_id)

    async def current_gop(self, camera_id: int) -> Gop | None:
        """The camera's stream and its packets from the latest keyframe (snapshots)."""
        if self.workers is not None:
            return await self.workers.current_gop(camera_id)
        ring = self._host.ring(camera_id)
        return self._gop(camera_id, [] if ring is None else ring.last(0))

    async def packets_since(self, camera_id: int, at: datetime) -> Gop | None:
        """The camera's stream and its ring's packets from the keyframe at or before `at` (the
        oldest kept, if `at` is older) to now (pre-alarm clips); None with nothing in memory."""
        if self.workers is not None:
            return await self.workers.packets_since(camera_id, at)
        ring = self._host.ring(camera_id)
        return self._gop(camera_id, [] if ring is None else ring.since(at))

    def _gop(self, camera_id: int, packets: list[RingPacket]) -> Gop | None:
        stream = self._host.tap(camera_id).source
        return Gop(stream, packets) if stream is not None and packets else None

    async def run(self, feeds: Sequence[CameraFeed]) -> None:
        """Record `feeds` until cancelled (or until every recorder stops by itself)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[PoolItem] = asyncio.Queue()

        def post(items: Iterable[PoolItem]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
                loop.call_soon_threadsafe(_put_all, queue, items)

        def report(item: HostReport) -> None:
            post((item,))

        by_camera = {feed.camera_id: feed for feed in feeds}
        await self._salvage_files(feeds)
        resume = await self._resume(feeds)
        stop = threading.Event()
        running = 0  # cameras whose RecorderStopped is still to come
        settling: asyncio.Future[int] | None = None  # the items being indexed
        ahead: list[PoolItem] = []  # taken off the queue after a run of segments, not yet handled
        try:
            if self.workers is not None:
                self.workers.start(feeds, resume, post)
            else:
                self._host.start(feeds, resume, report, stop)
            self._recording.update(by_camera)
            running = len(feeds)
            task = asyncio.current_task()
            while running:
                item = ahead.pop() if ahead else await queue.get()
                batch = _segments_after(item, queue, ahead)
                # A cancellation (shutdown) must not abort an insert half-way: the report is
                # off the queue, and its segment would be on disk but in no index, with no gap.
                settling = asyncio.ensure_future(self._settle_batch(by_camera, batch))
                running -= await asyncio.shield(settling)
                settling = None
                if isinstance(item, WorkerLost) and item.unstopped:
                    running += await self._replace(item, post)
                if task is not None and task.cancelling():
                    # A cancellation swallowed below us (Python 3.11's wait_for can lose one
                    # that lands as its inner await completes): honour it here.
                    raise asyncio.CancelledError
        finally:
            stop.set()
            if self.workers is not None:
                self.workers.stop()
            with contextlib.suppress(TimeoutError):  # index the segments the recorders close
                async with asyncio.timeout(DRAIN_S):
                    if settling is not None:
                        running -= await _finished(settling)
                    for item in ahead:
                        running -= await self._settle(by_camera, item)
                    while running:
                        running -= await self._settle(by_camera, await queue.get())
            if self.workers is not None:
                await self.workers.close()

    async def _settle_batch(self, feeds: dict[int, CameraFeed], batch: list[PoolItem]) -> int:
        """Handle one item, or index a run of segments in one transaction (one at a time if
        that fails, so that one bad row costs only its own)."""
        if len(batch) == 1:
            return await self._settle(feeds, batch[0])
        segments = [item for item in batch if isinstance(item, SegmentRecord)]
        try:
            ids = await self.index.add_segments(segments)
        except StoreUnavailable:
            return sum([await self._settle(feeds, item) for item in segments])
        for segment, segment_id in zip(segments, ids, strict=True):
            await self._published(feeds[segment.camera_id].org_path, segment_id, segment)
        return 0

    async def _settle(self, feeds: dict[int, CameraFeed], item: PoolItem) -> int:
        """Handle one item; how many cameras it says stopped."""
        if isinstance(item, WorkerLost):
            self._recording.difference_update(item.unstopped)
            return len(item.unstopped)  # nothing more comes from those
        return await self._handle(feeds, item)

    async def _resume(self, feeds: Iterable[CameraFeed]) -> dict[int, datetime | None]:
        """Each camera's last indexed end (where its next segment may start)."""
        return {feed.camera_id: await self.index.last_end(feed.camera_id) for feed in feeds}

    async def _replace(self, lost: WorkerLost, post: Callable[[Iterable[PoolItem]], None]) -> int:
        """Start a dead worker again with its shard; how many cameras it records."""
        assert self.workers is not None
        _log.warning("recording.worker_died", worker=lost.index, cameras=len(lost.unstopped))
        await asyncio.sleep(self.workers.restart_delay(lost.index))
        shard = self.workers.shard(lost.index)
        await self._salvage_files(shard)
        self.workers.restart(lost.index, await self._resume(shard), post)
        self._recording.update(feed.camera_id for feed in shard)
        return len(shard)

    async def _salvage_files(self, feeds: Iterable[CameraFeed]) -> None:
        """Index (and publish) what the cameras' last writers left unindexed, before they
        record again; skip a camera whose recorder may still be writing."""
        for feed in feeds:
            if feed.camera_id in self._recording:
                _log.warning("recording.salvage_skipped", camera=feed.camera_id)
                continue
            try:
                found = await self._salvage.camera(feed.camera_id)
            except (StoreUnavailable, OSError) as exc:
                _log.error("recording.salvage_failed", camera=feed.camera_id, error=str(exc))
                continue
            for segment in found:
                await self._published(feed.org_path, segment.id, segment.record)

    async def _handle(self, feeds: dict[int, CameraFeed], item: HostReport) -> int:
        """Index and publish one report; 1 when it says a recorder stopped."""
        if isinstance(item, RecorderStopped):
            self._recording.discard(item.camera_id)
            return 1
        if isinstance(item, EngineChosen):
            self.engines[item.camera_id] = item.engine
            return 0
        org_path = feeds[item.camera_id].org_path
        now = self.clock.now()
        try:
            if isinstance(item, SegmentRecord):
                await self._published(org_path, await self.index.add_segment(item), item)
            elif isinstance(item, GapRecord):
                await self.index.add_gap(item)
                await self.bus.publish(
                    RecordingGapFound(
                        at=now,
                        org_path=org_path,
                        camera_id=item.camera_id,
                        start=item.start,
                        end=item.end,
                        cause=item.cause.value,
                    )
                )
            elif isinstance(item, DiskLow):
                _log.warning("recording.disk_low", camera=item.camera_id, free=item.free_bytes)
                if self.retention is not None:
                    self.retention.wake()
            elif isinstance(item, CameraOnline):
                await self.bus.publish(
                    CameraCameOnline(at=item.at, org_path=org_path, camera_id=item.camera_id)
                )
            elif isinstance(item, CameraOffline):
                await self.bus.publish(
                    CameraWentOffline(
                        at=item.at,
                        org_path=org_path,
                        camera_id=item.camera_id,
                        since=item.since,
                        reason=item.reason,
                    )
                )
        except StoreUnavailable as exc:
            _log.error("recording.index_failed", camera=item.camera_id, error=str(exc))
        return 0

    async def _published(self, org_path: str, segment_id: int, segment: SegmentRecord) -> None:
        """Tell the bus about an indexed segment."""
        await self.bus.publish(
            SegmentRecorded(
                at=self.clock.now(),
                org_path=org_path,
                camera_id=segment.camera_id,
                segment_id=segment_id,
                start=segment.start,
                end=segment.end,
                bytes=segment.bytes,
                path=segment.path.as_posix(),
            )
        )


async def _finished(settling: asyncio.Future[int]) -> int:
    """What the item being indexed when `run` was cancelled says, once it is done (0 if it
    failed: its error has gone to `run`'s caller already)."""
    try:
        return await settling
    except Exception:  # noqa: BLE001 - raised once already
        return 0


def _segments_after(
    first: PoolItem, queue: asyncio.Queue[PoolItem], ahead: list[PoolItem]
) -> list[PoolItem]:
    """`first`, and when it is a segment, the segments queued right after it (up to
    SEGMENT_BATCH): they are indexed together. The first other item taken goes to `ahead`,
    to be handled next, so the order of the reports is kept."""
    batch = [first]
    if not isinstance(first, SegmentRecord):
        return batch
    while len(batch) < SEGMENT_BATCH and not queue.empty():
        item = queue.get_nowait()
        if not isinstance(item, SegmentRecord):
            ahead.append(item)
            break
        batch.append(item)
    return batch


def _put_all(queue: asyncio.Queue[PoolItem], items: Iterable[PoolItem]) -> None:
    for item in items:
        queue.put_nowait(item)
