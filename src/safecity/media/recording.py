"""The async side of recording: the ingest engines' blocking loops on threads, whose reports
come back to the event loop through a queue; here they are indexed in the store and published
on the bus, and low disk wakes retention.

Two engines (`RecordingOptions.engine`). `native` (the default): every `rtsp://` camera is one
`ingest.NativeCamera` of a single pull loop (`pull`, injected by the composition root: RTSP and
RTP parsed by us on one selector thread, our own fMP4 boxes, no libavformat per packet).
`pyav`: one `CameraRecorder` thread per camera, PyAV demuxing and muxing. Files and other
schemes always go to PyAV, and so does a camera the native loop cannot read (another codec, a
transport it refuses): it is handed over with its writer, ring and tap.

Threads, not worker processes: remuxing copies packets without decoding them, and a thread
shares the ring buffers with the alarm side and live view for free.
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
from safecity.media.ingest import NativeCamera
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
NATIVE_SCHEMES: Final = ("rtsp://",)

PullLoop = Callable[[Sequence[NativeCamera], threading.Event], None]


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
    engine: str = "native"  # "pyav": PyAV for every camera


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
    ) -> None:
        self.index = index
        self.bus = bus
        self.clock = clock
        self.options = options
        self.retention = retention
        self._opener = opener or self._open
        self._pull = pull if options.engine == "native" else None
        self._rings: dict[int, RingBuffer] = {}
        self._taps: dict[int, PacketTap] = {}
        self.engines: dict[int, str] = {}  # camera id: "native" or "pyav", as last started

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
        native = [feed for feed in feeds if self._native(feed)]
        try:
            for feed in feeds:
                if feed in native:
                    continue
                recorder = await self._recorder(feed, report)
                self._start(recorder, stop)
                self.engines[feed.camera_id] = "pyav"
                running += 1
            if native and self._pull is not None:
                cameras = [await self._camera(feed, report, stop) for feed in native]
                self.engines.update((feed.camera_id, "native") for feed in native)
                threading.Thread(
                    target=self._pull_all,
                    args=(self._pull, cameras, stop, report),
                    name="ingest-pull",
                    daemon=True,
                ).start()
                running += len(cameras)
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

    def _native(self, feed: CameraFeed) -> bool:
        return self._pull is not None and feed.url.startswith(NATIVE_SCHEMES)

    @staticmethod
    def _start(recorder: CameraRecorder, stop: threading.Event) -> None:
        thread = threading.Thread(
            target=recorder.run, args=(stop,), name=f"recorder-{recorder.camera_id}", daemon=True
        )
        thread.start()

    @staticmethod
    def _pull_all(
        pull: PullLoop,
        cameras: list[NativeCamera],
        stop: threading.Event,
        report: Callable[[RecorderReport], None],
    ) -> None:
        """The pull loop's thread: every camera it still has reports stopped at the end."""
        try:
            pull(cameras, stop)
        except Exception:
            _log.exception("recording.pull_loop_failed")
            raise
        finally:
            for camera in cameras:
                if not camera.retired:
                    camera.finish()
                    report(RecorderStopped(camera.camera_id))

    async def _camera(
        self, feed: CameraFeed, report: Callable[[RecorderReport], None], stop: threading.Event
    ) -> NativeCamera:
        writer, ring = await self._writer_and_ring(feed)

        def fallback(camera: NativeCamera, reason: str) -> None:
            _log.info("recording.fallback_to_pyav", camera=camera.camera_id, reason=reason)
            self.engines[camera.camera_id] = "pyav"
            self._start(self._av_recorder(feed, camera.writer, report, camera.ring), stop)

        return NativeCamera(
            feed.camera_id,
            feed.url,
            writer,
            report=report,
            clock=self.clock,
            backoff=self.options.backoff,
            offline_after_s=self.options.offline_after_s,
            ring=ring,
            tap=self.tap(feed.camera_id),
            fallback=fallback,
        )

    async def _recorder(
        self, feed: CameraFeed, report: Callable[[RecorderReport], None]
    ) -> CameraRecorder:
        writer, ring = await self._writer_and_ring(feed)
        return self._av_recorder(feed, writer, report, ring)

    async def _writer_and_ring(self, feed: CameraFeed) -> tuple[SegmentWriter, RingBuffer | None]:
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
        return writer, ring

    def _av_recorder(
        self,
        feed: CameraFeed,
        writer: SegmentWriter,
        report: Callable[[RecorderReport], None],
        ring: RingBuffer | None,
    ) -> CameraRecorder:
        return CameraRecorder(
            feed.camera_id,
            feed.url,
            writer,
            report=report,
            clock=self.clock,
            opener=self._opener,
            backoff=self.options.backoff,
            offline_after_s=self.options.offline_after_s,
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
