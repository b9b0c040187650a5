"""Record one camera: the blocking loop a worker thread runs.

Open the camera's URL with PyAV (a file, `rtsp://...`) under open and read timeouts, read its
video packets, feed the segment writer and the ring buffer. When the stream fails, times out or
ends, the open segment is closed and the camera reconnected after a capped exponential backoff;
the hole becomes one `source_lost` gap when the first keyframe comes back. After
`offline_after_s` without video the camera is reported offline, and online again with its first
packet. Everything is reported through the `report` callback (called on this thread: the async
side hands it to its loop, see `media.recording`). Clock and sleep are injected, so tests drive
a reconnect without waiting.

With a packet `tap`, every packet also goes to the tap's listeners (live view) before the writer
sees it, stamped with `time.monotonic()` as it leaves the demuxer: that stamp measures this
process's own delay, so it is the real clock, not the injected one. Without listeners the tap
costs one attribute read per packet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import av
import structlog
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.core.clock import Clock
from safecity.core.errors import DeviceUnavailable
from safecity.media.link_state import LinkState
from safecity.media.records import (
    GapCause,
    RecorderReport,
    RecorderStopped,
)
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap, StreamInfo

_log = structlog.get_logger(__name__)

RTSP_OPTIONS: Final[dict[str, str]] = {"rtsp_transport": "tcp", "fflags": "+genpts"}


class Source(Protocol):
    """An open video source: its stream (codec parameters) and its packets."""

    @property
    def video(self) -> VideoStream: ...

    def packets(self) -> Iterator[Packet[VideoStream]]: ...

    def close(self) -> None: ...


Opener = Callable[[str], Source]


class AvSource:
    """A PyAV input container's first video stream."""

    def __init__(
        self,
        url: str,
        *,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        options: Mapping[str, str] | None = None,
        rtsp_transport: str = "tcp",
    ) -> None:
        chosen = dict(options if options is not None else _default_options(url))
        if _is_rtsp(url) and options is None:
            chosen["rtsp_transport"] = rtsp_transport  # TCP interleaved, or RTP over UDP
        read_timeout: float | None = read_timeout_s
        if _is_rtsp(url):
            # FFmpeg's own socket timeout for RTSP, in microseconds: PyAV's read timeout is a
            # callback into Python that FFmpeg polls during every read, which here doubled the
            # CPU of demuxing (benchmarks/recording.py); keep PyAV's only for opening.
            chosen.setdefault("timeout", str(round(read_timeout_s * 1_000_000)))
            read_timeout = None
        try:
            self._container = av.open(url, options=chosen, timeout=(open_timeout_s, read_timeout))
        except (av.FFmpegError, OSError) as exc:
            why = exc.strerror or type(exc).__name__
            # `from None`: the cause's text names the URL with its password.
            raise DeviceUnavailable(f"cannot open {redacted(url)}: {why}") from None
        if not self._container.streams.video:
            self._container.close()
            raise DeviceUnavailable(f"{redacted(url)} has no video stream")
        self._video = self._container.streams.video[0]

    @property
    def video(self) -> VideoStream:
        return self._video

    def packets(self) -> Iterator[Packet[VideoStream]]:
        return self._container.demux(self._video)

    def close(self) -> None:
        self._container.close()


def _is_rtsp(url: str) -> bool:
    return url.startswith(("rtsp://", "rtsps://"))


def _default_options(url: str) -> dict[str, str]:
    return dict(RTSP_OPTIONS) if _is_rtsp(url) else {}


def redacted(url: str) -> str:
    """The URL without credentials, for logs and errors."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff: initial, initial x factor, ... up to `max_s`."""

    initial_s: float = 0.5
    max_s: float = 4.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th consecutive failure (1-based)."""
        exponent = min(max(0, failures - 1), 64)  # past the cap anyway; no float overflow
        return float(min(self.max_s, self.initial_s * self.factor**exponent))


class CameraRecorder:
    """The blocking record-reconnect loop of one camera."""

    def __init__(
        self,
        camera_id: int,
        url: str,
        writer: SegmentWriter,
        *,
        report: Callable[[RecorderReport], None],
        clock: Clock,
        opener: Opener,
        backoff: Backoff = Backoff(),
        offline_after_s: float = 10.0,
        ring: RingBuffer | None = None,
        sleep: Callable[[float], object] | None = None,
        tap: PacketTap | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.writer = writer
        self.ring = ring
        self.tap = tap
        self._report = report
        self._clock = clock
        self._opener = opener
        self._backoff = backoff
        self._sleep = sleep
        self._link = LinkState(camera_id, clock, offline_after_s, report)
        self._failures = 0

    def run(self, stop: threading.Event) -> None:
        """Record until `stop` is set; the last report is `RecorderStopped`."""
        self._link.lost()
        try:
            while not stop.is_set():
                reason = self._session(stop)
                if stop.is_set():
                    break
                self._failures += 1
                self._link.check(reason)
                self._wait(self._backoff.delay(self._failures), stop)
                self._link.check(reason)
        finally:
            self._emit_all(self.writer.close())
            self._report(RecorderStopped(self.camera_id))

    def _session(self, stop: threading.Event) -> str:
        """One connection: open, record until it ends; why it ended."""
        try:
            source = self._opener(self.url)
        except DeviceUnavailable as exc:
            return str(exc)
        reason = "stream ended"
        stream = source.video
        try:
            self._emit_all(self.writer.set_source(stream))
            info = StreamInfo.of(stream)
            if self.tap is not None:
                self.tap.opened(info)
            for packet in source.packets():
                if stop.is_set():
                    return "stopped"
                self._packet(info, packet)
        except (av.FFmpegError, OSError) as exc:
            # FFmpeg's message names the URL, credentials and all: never let those out.
            reason = f"stream failed: {exc}".replace(self.url, redacted(self.url))
        except ValueError as exc:  # a stream the writer cannot record (codec)
            reason = f"cannot record: {exc}"
        finally:
            if self.tap is not None:
                self.tap.closed()
            source.close()
        self._link.lost()
        self._emit_all(self.writer.interrupt(GapCause.SOURCE_LOST))
        if self.ring is not None:
            self.ring.clear()
        _log.info("recorder.source_lost", camera=self.camera_id, reason=reason)
        return reason

    def _packet(self, stream: StreamInfo, packet: Packet[VideoStream]) -> None:
        arrived = time.monotonic()
        now = self._clock.now()
        if packet.size and self._link.video(now):
            self._failures = 0
        tap = self.tap if self.tap is not None and self.tap.listeners else None
        if self.ring is not None or tap is not None:
            copied = RingPacket.of(packet, now)
            if copied is not None:
                if tap is not None:
                    tap.packet(stream, copied, arrived)  # before the ring: see media.live
                if self.ring is not None:
                    self.ring.push(copied)
        self._emit_all(self.writer.write(packet, now))

    def _wait(self, seconds: float, stop: threading.Event) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            stop.wait(seconds)

    def _emit_all(self, reports: Sequence[RecorderReport]) -> None:
        for item in reports:
            self._report(item)
