"""Many cameras' RTSP pulls on one thread: a `selectors` loop over non-blocking sockets that
wakes on a short tick (`tick_s`, 15 ms by default) rather than on every segment the kernel
delivers, so each wake-up drains every readable socket with one large `recv_into` and its cost
is shared by all the cameras. At 2 Mbit/s a camera brings about 4 KB per tick.

The loop is the I/O half of the native ingest: it knows sockets and RTSP, not recording. Each
camera is a `PulledCamera` (the recording side implements it): the loop asks it whether a
connection is due (it owns the backoff), tells it what DESCRIBE said, hands it access units,
and says when and why a connection ended (and whether another engine should try the camera).
Every `check_s` (half a second) the connections' RTSP timers run (keep-alives, open and read
timeouts: to within that much) and each camera gets `tick()` for its own (offline reports).

Blocking, and free of asyncio: run it on a thread (or in a worker process); `stop` ends it.
"""

from __future__ import annotations

import random
import selectors
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import structlog

from safecity.adapters.rtsp.pull import PullConnection, PullHandler, endpoint
from safecity.protocols.rtp.access_unit import AccessUnit
from safecity.protocols.rtsp.track import VideoTrack
from safecity.protocols.rtsp.transport import LowerTransport

_log = structlog.get_logger(__name__)

RECEIVE_BUFFER: Final = 1 << 18
IDLE_S: Final = 0.25


class PulledCamera(Protocol):
    url: str

    @property
    def retired(self) -> bool:
        """The loop should forget the camera (another engine took it over)."""
        ...

    def due(self) -> bool:
        """Whether to connect now."""
        ...

    def described(self, track: VideoTrack) -> None: ...

    def units(self, units: list[AccessUnit], arrived: float) -> None:
        """Access units that came in one read, at `arrived` (`time.monotonic()`)."""
        ...

    def ended(self, reason: str, fallback: bool) -> None:
        """The connection (or the attempt) is over; `fallback`: the camera needs another engine."""
        ...

    def tick(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PullOptions:
    transport: LowerTransport = LowerTransport.TCP
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0
    tick_s: float = 0.015
    check_s: float = 0.5


class RtspPullLoop:
    """`loop(cameras, stop)`: pull every camera until `stop` is set."""

    def __init__(
        self, options: PullOptions | None = None, rng: random.Random | None = None
    ) -> None:
        self.options = options or PullOptions()
        self.rng = rng or random.Random()  # noqa: S311 - client nonces, SSRC-free

    def __call__(self, cameras: Sequence[PulledCamera], stop: threading.Event) -> None:
        _Run(self.options, self.rng, list(cameras)).run(stop)


class _Run:
    def __init__(
        self, options: PullOptions, rng: random.Random, cameras: list[PulledCamera]
    ) -> None:
        self.options = options
        self.rng = rng
        self.cameras = cameras
        self.selector = selectors.DefaultSelector()
        self.connections: dict[int, PullConnection] = {}  # by camera index
        self.buffer = bytearray(RECEIVE_BUFFER)

    def run(self, stop: threading.Event) -> None:
        options = self.options
        view = memoryview(self.buffer)
        next_check = 0.0
        selector = self.selector
        try:
            while not stop.is_set():
                started = time.monotonic()
                if started >= next_check:  # timers at this pace, not each tick: 200 cameras
                    next_check = started + options.check_s
                    self._timers(started)
                    self._connect_due(started)
                    for camera in self.cameras:
                        if not camera.retired:
                            camera.tick()
                if not selector.get_map():
                    stop.wait(min(IDLE_S, max(0.0, next_check - time.monotonic())))
                    continue
                ready = selector.select(max(0.0, next_check - time.monotonic()))
                now = time.monotonic()
                for key, _ in ready:
                    self._dispatch(key.data, now, view)
                rest = options.tick_s - (time.monotonic() - started)
                if rest > 0 and ready:
                    stop.wait(rest)  # let the other sockets fill: one wake-up for many
        finally:
            now = time.monotonic()
            for connection in list(self.connections.values()):
                connection.teardown(now)
            self.selector.close()

    @staticmethod
    def _dispatch(
        callback: Callable[[float, memoryview], None], now: float, view: memoryview
    ) -> None:
        """One ready socket; a bug in one camera's handling ends its connection, not the loop."""
        try:
            callback(now, view)
        except Exception as exc:  # noqa: BLE001 - isolate the other cameras from the bug
            _log.exception("pull.callback_failed")
            connection = getattr(callback, "__self__", None)
            if isinstance(connection, PullConnection):
                connection.end(f"internal error: {type(exc).__name__}: {exc}", fallback=False)

    def _timers(self, now: float) -> None:
        """Keep-alives and timeouts, to within `check_s`."""
        for connection in list(self.connections.values()):
            deadline = connection.deadline()
            if deadline is not None and deadline <= now:
                self._dispatch(connection.on_timeout, now, memoryview(b""))  # guarded too

    def _connect_due(self, now: float) -> None:
        for index, camera in enumerate(self.cameras):
            if index in self.connections or camera.retired or not camera.due():
                continue
            self._connect(index, camera, now)

    def _connect(self, index: int, camera: PulledCamera, now: float) -> None:  # noqa: ARG002
        options = self.options

        def ended(reason: str, fallback: bool) -> None:
            self.connections.pop(index, None)
            camera.ended(reason, fallback)

        def units(found: list[AccessUnit]) -> None:
            camera.units(found, time.monotonic())
            if camera.retired and (connection := self.connections.pop(index, None)) is not None:
                connection.teardown(time.monotonic())  # handed to another engine mid-stream

        try:
            target = endpoint(camera.url, self.rng)
            connection = PullConnection(
                target,
                PullHandler(camera.described, units, ended),
                self.selector,
                transport=options.transport,
                open_timeout_s=options.open_timeout_s,
                read_timeout_s=options.read_timeout_s,
                rng=self.rng,
            )
        except ValueError as exc:
            camera.ended(f"cannot pull this URL natively: {exc}", fallback=True)
            return
        except OSError as exc:
            camera.ended(f"cannot connect: {exc.strerror or exc}", fallback=False)
            return
        self.connections[index] = connection
