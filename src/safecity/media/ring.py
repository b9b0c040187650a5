"""The last N seconds of one camera's packets in memory, so an alarm gets its pre-alarm clip at
once instead of waiting for the current segment to close.

The buffer always begins at a keyframe: it drops whole GOPs from the front, and only while what
is left still spans at least N seconds. Packets before the first keyframe are not kept. Written
by the recorder's thread, read from the event loop: a lock guards it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import cast

from av.packet import Packet
from av.video.stream import VideoStream


@dataclass(frozen=True, slots=True)
class RingPacket:
    data: bytes
    pts: int
    dts: int
    duration: int
    time_base: Fraction
    keyframe: bool
    at: datetime  # when it arrived (UTC)

    @classmethod
    def of(cls, packet: Packet[VideoStream], at: datetime) -> RingPacket | None:
        """A copy of a demuxed packet; None for one without data or time."""
        if packet.size == 0 or packet.pts is None or packet.time_base is None:
            return None
        return cls(
            data=bytes(packet),
            pts=packet.pts,
            dts=packet.dts if packet.dts is not None else packet.pts,
            duration=packet.duration or 0,
            time_base=packet.time_base,
            keyframe=packet.is_keyframe,
            at=at,
        )

    def to_packet(self) -> Packet[VideoStream]:
        """Back to a PyAV packet (for a clip writer to mux)."""
        packet = cast("Packet[VideoStream]", Packet(self.data))  # bound to no stream yet
        packet.pts = self.pts
        packet.dts = self.dts
        packet.duration = self.duration
        packet.time_base = self.time_base
        packet.is_keyframe = self.keyframe
        return packet


class RingBuffer:
    """Per-camera ring of the last `seconds` of packets, starting at a keyframe."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._packets: deque[RingPacket] = deque()
        self._keyframes: deque[int] = deque()  # absolute sequence numbers of keyframes
        self._first = 0  # sequence number of _packets[0]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._packets)

    def push(self, packet: RingPacket) -> None:
        with self._lock:
            if not self._packets and not packet.keyframe:
                return
            if self._packets and packet.dts <= self._packets[-1].dts:
                self._clear()  # media time went back: the old packets belong to another run
                if not packet.keyframe:
                    return
            if packet.keyframe:
                self._keyframes.append(self._first + len(self._packets))
            self._packets.append(packet)
            self._trim()

    def clear(self) -> None:
        """Forget everything (the source was lost or changed)."""
        with self._lock:
            self._clear()

    def span_s(self) -> float:
        with self._lock:
            return self._span(0)

    def since(self, at: datetime) -> list[RingPacket]:
        """The packets from the last keyframe that arrived at or before `at` (or from the
        oldest kept, if all came later) to now: the pre-alarm clip."""
        with self._lock:
            start = 0
            for seq in self._keyframes:
                index = seq - self._first
                if self._packets[index].at > at:
                    break
                start = index
            return list(self._packets)[start:]

    def last(self, seconds: float) -> list[RingPacket]:
        """About the last `seconds` of media, from a keyframe."""
        with self._lock:
            if not self._packets:
                return []
            newest = self._packets[-1]
            start = 0
            for seq in self._keyframes:
                index = seq - self._first
                if self._ticks_s(newest, self._packets[index]) < seconds:
                    break
                start = index
            return list(self._packets)[start:]

    # -- internals (lock held) ---------------------------------------------------------------

    def _clear(self) -> None:
        self._first += len(self._packets)
        self._packets.clear()
        self._keyframes.clear()

    @staticmethod
    def _ticks_s(newest: RingPacket, oldest: RingPacket) -> float:
        return float((newest.pts + newest.duration - oldest.pts) * oldest.time_base)

    def _span(self, index: int) -> float:
        if not self._packets:
            return 0.0
        return self._ticks_s(self._packets[-1], self._packets[index])

    def _trim(self) -> None:
        """Drop the oldest GOP while the rest still spans `seconds`."""
        while len(self._keyframes) > 1:
            second = self._keyframes[1] - self._first
            if self._span(second) < self.seconds:
                return
            for _ in range(second):
                self._packets.popleft()
            self._first += second
            self._keyframes.popleft()
