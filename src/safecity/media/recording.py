"""The async side of recording: one blocking `CameraRecorder` per camera, each on its own
thread, whose reports come back to the event loop through a queue; here they are indexed in the
store and published on the bus, and low disk wakes retention.

Threads, not worker processes: remuxing copies packets without decoding them (a few hundred
packets a second per camera, PyAV releasing the GIL inside demux and mux), and a thread shares
the ring buffers with the alarm side for free.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from safecity.media.index import RecordingIndex
from safecity.media.recorder import AvSource, Backoff, CameraRecorder, Opener, Source
from safecity.media.records import (
    CameraOffline,
    CameraOnline,
    DiskLow,
    GapRecord,
    RecorderReport,
    RecorderStopped,
    SegmentRecord,
)
from safecity.media.retention import Retention
from safecity.media.ring import RingBuffer
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap

_log = structlog.get_logger(__name__)

DRAIN_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class CameraFeed:
    """A camera to record: its device id, stream URL and the org path its events carry."""

    camera_id: int
    url: str
    org_path: str


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    segment_s: float = 60.0
    max_jump_s: float = 2.0
    min_free_bytes: int = 0
    ring_s: float = 30.0
    offline_after_s: float = 10.0
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    rtsp_transport: str = "tcp"  # "udp": RTP over UDP, for cameras or networks that need it
    backoff: Backoff = field(default_factory=Backoff)


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
    ) -> None:
        self.index = index
        self.bus = bus
        self.clock = clock
        self.options = options
        self.retention = retention
        self._opener = opener or self._open
        self._rings: dict[int, RingBuffer] = {}
        self._taps: dict[int, PacketTap] = {}

    def ring(self, camera_id: int) -> RingBuffer | None:
        """The camera's last seconds of packets (for a pre-alarm clip)."""
        return self._rings.get(camera_id)

    def tap(self, camera_id: int) -> PacketTap:
        """The camera's packet tap (live view), made on first use and kept across restarts of
        the recorders, so a listener may register before the camera is connected."""
        return self._taps.setdefault(camera_id, PacketTap())

    def _open(self, url: str) -> Source:
        return AvSource(
            url,
            open_timeout_s=self.options.open_timeout_s,
            read_timeout_s=self.options.read_timeout_s,
            rtsp_transport=self.options.rtsp_transport,
        )

    async def run(self, feeds: Sequence[CameraFeed]) -> None:
        """Record `feeds` until cancelled (or until every recorder stops by itself)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[RecorderReport] = asyncio.Queue()

        def report(item: RecorderReport) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
                loop.call_soon_threadsafe(queue.put_nowait, item)

        by_camera = {feed.camera_id: feed for feed in feeds}
        stop = threading.Event()
        running = 0
        try:
            for feed in feeds:
                recorder = await self._recorder(feed, report)
                thread = threading.Thread(
                    target=recorder.run,
                    args=(stop,),
                    name=f"recorder-{feed.camera_id}",
                    daemon=True,
                )
                thread.start()
                running += 1
            task = asyncio.current_task()
            while running:
                item = await queue.get()
                running -= await self._handle(by_camera, item)
                if task is not None and task.cancelling():
                    # A cancellation swallowed below us (Python 3.11's wait_for can lose one
                    # that lands as its inner await completes): honour it here.
                    raise asyncio.CancelledError
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):  # index the segments the recorders close
                async with asyncio.timeout(DRAIN_S):
                    while running:
                        running -= await self._handle(by_camera, await queue.get())

    async def _recorder(
        self, feed: CameraFeed, report: Callable[[RecorderReport], None]
    ) -> CameraRecorder:
        options = self.options
        writer = SegmentWriter(
            feed.camera_id,
            self.index.root,
            segment_s=options.segment_s,
            max_jump_s=options.max_jump_s,
            min_free_bytes=options.min_free_bytes,
            resume_after=await self.index.last_end(feed.camera_id),
        )
        ring = RingBuffer(options.ring_s) if options.ring_s > 0 else None
        if ring is not None:
            self._rings[feed.camera_id] = ring
        return CameraRecorder(
            feed.camera_id,
            feed.url,
            writer,
            report=report,
            clock=self.clock,
            opener=self._opener,
            backoff=options.backoff,
            offline_after_s=options.offline_after_s,
            ring=ring,
            tap=self.tap(feed.camera_id),
        )

    async def _handle(self, feeds: dict[int, CameraFeed], item: RecorderReport) -> int:
        """Index and publish one report; 1 when it says a recorder stopped."""
        if isinstance(item, RecorderStopped):
            return 1
        org_path = feeds[item.camera_id].org_path
        now = self.clock.now()
        try:
            if isinstance(item, SegmentRecord):
                segment_id = await self.index.add_segment(item)
                await self.bus.publish(
                    SegmentRecorded(
                        at=now,
                        org_path=org_path,
                        camera_id=item.camera_id,
                        segment_id=segment_id,
                        start=item.start,
                        end=item.end,
                        bytes=item.bytes,
                        path=item.path.as_posix(),
                    )
                )
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
