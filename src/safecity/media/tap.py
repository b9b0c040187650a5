"""A camera's packet tap: the recorder hands every video packet to the listeners registered here
(live view) as well as to its segment writer, on the recorder's own thread.

Listeners are called synchronously, before the writer sees the packet, so they must be quick
(copy or remux, then hand off to another thread or the event loop) and must not raise. The
listener set is a tuple replaced under a lock and read without one, so a packet costs one
attribute read when nobody listens. The tap outlives the recorders: the recording service keeps
one per camera across restarts, and a viewer may register before the camera is even connected.
A tap may be told (`watch`) when its first listener comes and its last one goes: with ingest
workers, that starts and stops the forwarding of the camera's packets to the platform process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import structlog
from av.video.stream import VideoStream

from safecity.media.ring import RingPacket

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class StreamInfo:
    """The codec parameters of a camera's current stream, whichever engine reads it: what a
    decoder (snapshots), the live fragmenter and the segment writer need. One object per
    connection: listeners tell a reconnect by a new object (compared by identity)."""

    codec: str  # FFmpeg's name: "h264" | "hevc" (others are refused by the writers)
    extradata: bytes  # avcC / hvcC, or Annex B parameter sets, or empty
    width: int
    height: int
    time_base: Fraction
    frame_rate: Fraction | None = None

    @classmethod
    def of(cls, stream: VideoStream) -> StreamInfo:
        context = stream.codec_context
        return cls(
            codec=context.name,
            extradata=bytes(context.extradata or b""),
            width=stream.width,
            height=stream.height,
            time_base=stream.time_base or Fraction(1, 90_000),
            frame_rate=stream.guessed_rate or stream.average_rate,
        )


@dataclass(frozen=True, slots=True)
class Gop:
    """A camera's current stream and its packets from the latest keyframe (snapshots)."""

    stream: StreamInfo
    packets: list[RingPacket]


class PacketListener(Protocol):
    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        """One packet of `stream` (the same object for a whole connection; a new one after a
        reconnect), which left the demuxer at `arrived` (`time.monotonic()` seconds: the
        system-wide CLOCK_MONOTONIC on Linux, so an ingest worker's stamp holds here too)."""
        ...


class PacketTap:
    """One camera's listeners and what is known of its current stream."""

    def __init__(self, watch: Callable[[], None] | None = None) -> None:
        """`watch()` when the first listener is added and when the last one is removed (on the
        thread that adds or removes it, after the change: read `listeners` for the state)."""
        self._lock = threading.Lock()
        self._watch = watch
        self.listeners: tuple[PacketListener, ...] = ()
        self.source: StreamInfo | None = None  # None while the camera is not connected

    def add(self, listener: PacketListener) -> None:
        with self._lock:
            first = not self.listeners
            self.listeners = (*self.listeners, listener)
        if first and self._watch is not None:
            self._watch()

    def remove(self, listener: PacketListener) -> None:
        with self._lock:
            had = bool(self.listeners)
            self.listeners = tuple(item for item in self.listeners if item is not listener)
            last = had and not self.listeners
        if last and self._watch is not None:
            self._watch()

    def opened(self, stream: StreamInfo) -> None:
        """The recorder connected: remember the stream's parameters."""
        self.source = stream

    def closed(self) -> None:
        """The connection ended."""
        self.source = None

    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        for listener in self.listeners:
            try:
                listener.packet(stream, packet, arrived)
            except Exception:  # noqa: BLE001 (a broken viewer must not stop the recording)
                _log.exception("tap.listener_failed", listener=repr(listener))
                self.remove(listener)
