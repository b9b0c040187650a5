"""The last N seconds of one camera's packets in memory, so an alarm gets its pre-alarm clip at
once instead of waiting for the current segment to close.

The buffer always begins at a keyframe: it drops whole GOPs from the front, and only while what
is left still spans at least N seconds. Packets before the first keyframe are not kept. Written
by the recorder's thread, read from the event loop: a lock guards it.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime
from fractions import Fraction
from typing import Final, NamedTuple, cast

from av.packet import Packet
from av.video.stream import VideoStream


class RingPacket(NamedTuple):  # made per picture: a frozen dataclass cost three times as much
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


# One packet as the ring keeps it: a plain tuple of atomic values (data, pts, dts, duration,
# time base numerator and denominator, keyframe, arrival). CPython's cyclic GC stops tracking
# such tuples, so 30 s of 200 cameras (150,000 packets) costs no collector time; kept as
# objects they made every full collection walk them all, which doubled the ingest's CPU.
_Entry = tuple[bytes, int, int, int, int, int, bool, datetime]
_PTS: Final = 1
_DTS: Final = 2
_DURATION: Final = 3
_NUMERATOR: Final = 4
_DENOMINATOR: Final = 5
_AT: Final = 7


class RingBuffer:
    """Per-camera ring of the last `seconds` of packets, starting at a keyframe."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._packets: deque[_Entry] = deque()
        self._keyframes: deque[int] = deque()  # absolute sequence numbers of keyframes
        self._keys: deque[_Entry] = deque()  # and those packets (deque indexing is O(n))
        self._first = 0  # sequence number of _packets[0]
        self._bases: dict[tuple[int, int], Fraction] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._packets)

    def push(self, packet: RingPacket) -> None:
        base = packet.time_base
        entry = (
            packet.data,
            packet.pts,
            packet.dts,
            packet.duration,
            base.numerator,
            base.denominator,
            packet.keyframe,
            packet.at,
        )
        with self._lock:
            packets = self._packets
            if not packets and not packet.keyframe:
                return
            if packets and packet.dts <= packets[-1][_DTS]:
                self._clear()  # media time went back: the old packets belong to another run
                if not packet.keyframe:
                    return
            if packet.keyframe:
                self._keyframes.append(self._first + len(packets))
                self._keys.append(entry)
            packets.append(entry)
            self._trim()

    def clear(self) -> None:
        """Forget everything (the source was lost or changed)."""
        with self._lock:
            self._clear()

    def span_s(self) -> float:
        with self._lock:
            if not self._packets:
                return 0.0
            return self._ticks_s(self._packets[-1], self._packets[0])

    def since(self, at: datetime) -> list[RingPacket]:
        """The packets from the last keyframe that arrived at or before `at` (or from the
        oldest kept, if all came later) to now: the pre-alarm clip."""
        with self._lock:
            start = 0
            for seq, key in zip(self._keyframes, self._keys, strict=True):
                if key[_AT] > at:
                    break
                start = seq - self._first
            return self._copies(start)

    def last(self, seconds: float) -> list[RingPacket]:
        """About the last `seconds` of media, from a keyframe."""
        with self._lock:
            if not self._packets:
                return []
            newest = self._packets[-1]
            start = 0
            for seq, key in zip(self._keyframes, self._keys, strict=True):
                if self._ticks_s(newest, key) < seconds:
                    break
                start = seq - self._first
            return self._copies(start)

    # -- internals (lock held) ---------------------------------------------------------------

    def _copies(self, start: int) -> list[RingPacket]:
        bases = self._bases
        found = []
        for entry in list(self._packets)[start:]:
            data, pts, dts, duration, numerator, denominator, keyframe, at = entry
            base = bases.get((numerator, denominator))
            if base is None:
                base = bases[numerator, denominator] = Fraction(numerator, denominator)
            found.append(RingPacket(data, pts, dts, duration, base, keyframe, at))
        return found

    def _clear(self) -> None:
        self._first += len(self._packets)
        self._packets.clear()
        self._keyframes.clear()
        self._keys.clear()

    @staticmethod
    def _ticks_s(newest: _Entry, oldest: _Entry) -> float:
        ticks = newest[_PTS] + newest[_DURATION] - oldest[_PTS]
        return ticks * oldest[_NUMERATOR] / oldest[_DENOMINATOR]  # exact, no Fraction

    def _trim(self) -> None:
        """Drop the oldest GOP while the rest still spans `seconds`."""
        while len(self._keyframes) > 1:
            if self._ticks_s(self._packets[-1], self._keys[1]) < self.seconds:
                return
            second = self._keyframes[1] - self._first
            for _ in range(second):
                self._packets.popleft()
            self._first += second
            self._keyframes.popleft()
            self._keys.popleft()
