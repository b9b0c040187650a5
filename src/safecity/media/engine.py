"""The ingest engines of one process: the blocking, thread-level half of recording, the same in
the platform process (`media.ingest_workers: 0`) and in each ingest worker process.

An `IngestHost` starts, for a set of cameras, what records them (`RecordingOptions.engine`).
`native` (the default): every `rtsp://` camera is one `ingest.NativeCamera` of a single pull
loop (`pull`, injected by the composition root: RTSP and RTP parsed by us on one selector
thread, our own fMP4 boxes, no libavformat per packet). `pyav`: one `CameraRecorder` thread per
camera, PyAV demuxing and muxing. Files and other schemes always go to PyAV, and so does a
camera the native loop cannot read (another codec, a transport it refuses): it is handed over
with its writer, ring and tap. Per camera the host keeps the ring buffer (the last `ring_s` of
packets) and the packet tap (live view), and it writes the segment files itself.

Everything it learns goes through one `report` callback, called on the engines' threads:
`EngineChosen` as each camera starts (and when it falls back), then the recorders' reports,
and for every camera one `RecorderStopped` once `stop` is set. What it needs from the store
(each camera's last indexed end, `resume`) its caller looks up first; the host touches neither
the store nor the bus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import structlog

from safecity.core.clock import Clock
from safecity.media.ingest import NativeCamera
from safecity.media.recorder import AvSource, Backoff, CameraRecorder, Opener, Source
from safecity.media.records import EngineChosen, GapCause, HostReport, RecorderStopped
from safecity.media.ring import RingBuffer
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap

_log = structlog.get_logger(__name__)

NATIVE_SCHEMES: Final = ("rtsp://",)

PullLoop = Callable[[Sequence[NativeCamera], threading.Event], None]
Report = Callable[[HostReport], None]


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


class IngestHost:
    """Records cameras on threads of this process, with their rings and taps."""

    def __init__(
        self,
        root: Path,
        clock: Clock,
        options: RecordingOptions,
        *,
        opener: Opener | None = None,
        pull: PullLoop | None = None,
    ) -> None:
        self.root = root
        self.clock = clock
        self.options = options
        self._opener = opener or self._open
        self._pull = pull if options.engine == "native" else None
        self._rings: dict[int, RingBuffer] = {}
        self._taps: dict[int, PacketTap] = {}

    def ring(self, camera_id: int) -> RingBuffer | None:
        """The camera's last seconds of packets (pre-alarm clip, live view, snapshots)."""
        return self._rings.get(camera_id)

    def tap(self, camera_id: int) -> PacketTap:
        """The camera's packet tap, made on first use and kept across starts, so a listener
        may register before the camera is connected."""
        return self._taps.setdefault(camera_id, PacketTap())

    def start(
        self,
        feeds: Sequence[CameraFeed],
        resume: Mapping[int, datetime | None],
        report: Report,
        stop: threading.Event,
        *,
        cause: GapCause = GapCause.RESTART,
    ) -> None:
        """Start recording `feeds` on threads until `stop` is set. `resume`: each camera's
        last indexed end; the hole since then becomes a gap with `cause`."""
        native = [feed for feed in feeds if self._native(feed)]
        for feed in feeds:
            if feed in native:
                continue
            writer, ring = self._writer_and_ring(feed, resume.get(feed.camera_id), cause)
            report(EngineChosen(feed.camera_id, "pyav"))
            self._start(self._av_recorder(feed, writer, report, ring), stop)
        if native and self._pull is not None:
            cameras = [
                self._camera(feed, resume.get(feed.camera_id), cause, report, stop)
                for feed in native
            ]
            for feed in native:
                report(EngineChosen(feed.camera_id, "native"))
            threading.Thread(
                target=self._pull_all,
                args=(self._pull, cameras, stop, report),
                name="ingest-pull",
                daemon=True,
            ).start()

    def _open(self, url: str) -> Source:
        return AvSource(
            url,
            open_timeout_s=self.options.open_timeout_s,
            read_timeout_s=self.options.read_timeout_s,
            rtsp_transport=self.options.rtsp_transport,
        )

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
        pull: PullLoop, cameras: list[NativeCamera], stop: threading.Event, report: Report
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

    def _camera(
        self,
        feed: CameraFeed,
        resume: datetime | None,
        cause: GapCause,
        report: Report,
        stop: threading.Event,
    ) -> NativeCamera:
        writer, ring = self._writer_and_ring(feed, resume, cause)

        def fallback(camera: NativeCamera, reason: str) -> None:
            _log.info("recording.fallback_to_pyav", camera=camera.camera_id, reason=reason)
            report(EngineChosen(camera.camera_id, "pyav"))
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

    def _writer_and_ring(
        self, feed: CameraFeed, resume: datetime | None, cause: GapCause
    ) -> tuple[SegmentWriter, RingBuffer | None]:
        options = self.options
        writer = SegmentWriter(
            feed.camera_id,
            self.root,
            segment_s=options.segment_s,
            max_jump_s=options.max_jump_s,
            min_free_bytes=options.min_free_bytes,
            resume_after=resume,
            resume_cause=cause,
        )
        ring = RingBuffer(options.ring_s) if options.ring_s > 0 else None
        if ring is not None:
            self._rings[feed.camera_id] = ring
        return writer, ring

    def _av_recorder(
        self, feed: CameraFeed, writer: SegmentWriter, report: Report, ring: RingBuffer | None
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
