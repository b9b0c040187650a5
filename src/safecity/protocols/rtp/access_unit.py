"""Whole access units from RTP packets: H.264 (RFC 6184 §5.6 single NAL unit, §5.7.1 STAP-A,
§5.8 FU-A; packetization-mode 1) and H.265 (RFC 7798 §4.4.1 single NAL unit, §4.4.2 AP, §4.4.3
FU; no DONL, sprop-max-don-diff 0), with the RTP header of RFC 3550 §5.1.

An access unit ends at the packet with the marker bit (RFC 6184 §5.1, RFC 7798 §4.1), or, for
a sender that forgets the marker, where the RTP timestamp changes. Its NAL units come out as
one ISO/IEC 14496-15 sample: each behind a four-octet big-endian length, the form MP4 stores,
so a recorder writes `data` as it is. A keyframe holds an IDR picture (H.264 type 5) or an
IRAP one (H.265 types 16-23); parameter sets met in band are handed out with their unit.

Loss: a gap in sequence numbers (RFC 3550 §A.1, modulo 2^16) drops the unit being assembled
and every unit after it until the next keyframe, whose `after_loss` is then set; a late or
repeated packet (a step back of less than 2^15) is ignored. A malformed packet counts as lost.
Timestamps are unwrapped from 32 bits to an unbounded count (a step of 2^31 or more is a step
back). The hot path is a few struct reads per packet and one copy per unit: payload pieces are
kept as slices (of a `memoryview`, without copying) and joined once when the unit completes. A
caller that reuses its buffer calls `detach()` before it does, which copies the pieces of a
unit still open. Where the compiled `_packets` module was built (`COMPILED`), a reader of RTSP
interleaved frames hands it the plain packets of each picture (whole and fragmented NAL units
other than parameter sets, up to the marker) with `feed_packets`, and gives `feed` only what
that leaves; the rest, and all of it without the module, is Python.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final, NamedTuple

from safecity.protocols.rtp.codec import VideoCodec
from safecity.protocols.rtp.nal import split_length_prefixed

try:
    from safecity.protocols.rtp._packets import take_packets
except ImportError:  # built without a C compiler: `feed` does every packet
    take_packets = None  # type: ignore[assignment]

Buffer = bytes | bytearray | memoryview

_HEAD: Final = struct.Struct("!BBHII")
_EXTENSION_LENGTH: Final = struct.Struct("!H")
_LENGTH: Final = struct.Struct("!I")
_SIZE: Final = struct.Struct("!H")
_WRAP: Final = 1 << 32
_HALF: Final = 1 << 31
_HEADER_SIZE: Final = 12

_H264_STAP_A: Final = 24
_H264_FU_A: Final = 28
_H264_IDR: Final = 5
_H264_PARAMETER_SETS: Final = frozenset({7, 8})
_H265_AP: Final = 48
_H265_FU: Final = 49
_H265_PARAMETER_SETS: Final = frozenset({32, 33, 34})

COMPILED: Final = take_packets is not None  # the fast path for plain packets is built


class AccessUnit(NamedTuple):
    """One coded picture (a named tuple: made per picture, where a frozen dataclass's
    `__init__` cost three times as much)."""

    data: bytes  # its NAL units, each behind a 4-octet length (ISO/IEC 14496-15 §5.3.2)
    timestamp: int  # RTP timestamp, unwrapped
    keyframe: bool
    parameter_sets: tuple[bytes, ...] = ()  # VPS/SPS/PPS carried in band, in order
    after_loss: bool = False  # packets were lost since the unit before it

    def nal_units(self) -> list[bytes]:
        return split_length_prefixed(self.data, 4)


def length_prefixed(nal_units: Iterable[bytes]) -> bytes:
    """NAL units as one sample, each behind a 4-octet length."""
    return b"".join(_LENGTH.pack(len(unit)) + unit for unit in nal_units)


class AccessUnitAssembler:
    """RTP packets of one stream in, access units out (`feed`, then `take`)."""

    def __init__(self, codec: VideoCodec, payload_type: int | None = None) -> None:
        self.codec = codec
        self.payload_type = payload_type  # None: take every payload type
        self.lost = 0  # packets missing from the sequence, plus malformed ones
        self.dropped = 0  # access units dropped for loss
        self._payload_type = -1 if payload_type is None else payload_type
        self._h265 = codec is VideoCodec.H265
        self._ready: list[AccessUnit] = []
        self._pieces: list[Buffer] = []  # lengths and NAL unit parts of the open unit
        self._fragment_at = -1  # the index of the length of an open FU NAL unit, or -1
        self._fragment_size = 0
        self._keyframe = False
        self._parameter_sets: list[bytes] = []
        self._broken = False  # the unit being assembled lost a packet
        self._waiting = True  # for a keyframe (at the start and after loss)
        self._after_loss = False
        self._expected = -1  # next sequence number (set by the first packet's SSRC)
        self._ssrc = -1
        self._timestamp = -1  # the current unit's wire timestamp, -1 when none
        self._last_wire = -1  # the last unit's wire timestamp (for unwrapping)
        self._unwrapped = 0
        self._started = False  # a first keyframe has been given out (before it, no loss)

    def detach(self) -> None:
        """Copy what the open unit holds of the caller's buffers (before they are reused)."""
        pieces = self._pieces
        for index, piece in enumerate(pieces):
            if isinstance(piece, memoryview):
                pieces[index] = bytes(piece)

    def take(self) -> list[AccessUnit]:
        """The access units completed since the last call, in order."""
        ready, self._ready = self._ready, []
        return ready

    def feed(self, data: Buffer, start: int = 0, end: int | None = None) -> bool:  # noqa: PLR0911, PLR0912 - the per-packet path, kept in one frame
        """One RTP packet in `data[start:end]`; whether an access unit is ready to `take`."""
        stop = len(data) if end is None else end
        if stop - start < _HEADER_SIZE:
            return self._malformed()
        first, second, sequence, timestamp, ssrc = _HEAD.unpack_from(data, start)
        pos = start + _HEADER_SIZE
        if first != 0x80:  # version 2 with CSRCs, an extension or padding (or not RTP)
            if first & 0xC0 != 0x80:
                return self._malformed()
            pos += 4 * (first & 0x0F)
            if first & 0x10:
                if pos + 4 > stop:
                    return self._malformed()
                pos += 4 + 4 * _EXTENSION_LENGTH.unpack_from(data, pos + 2)[0]
            if first & 0x20:
                stop -= data[stop - 1]
        if pos >= stop:
            return self._malformed() if pos > stop else False
        if self._payload_type >= 0 and second & 0x7F != self._payload_type:
            return False
        if ssrc != self._ssrc:
            if self._ssrc != -1:
                self._lose(1)  # another source: whatever was open cannot be finished
            self._ssrc = ssrc
            self._expected = sequence
        expected = self._expected
        if sequence != expected:
            step = (sequence - expected) & 0xFFFF
            if step >= 0x8000:
                return bool(self._ready)  # late or repeated: already given up on
            self._lose(step)
        self._expected = (sequence + 1) & 0xFFFF
        if timestamp != self._timestamp:
            if self._timestamp != -1:
                self._finish()  # no marker on the last unit: the new timestamp ends it
            self._timestamp = timestamp
        if self._h265:
            self._h265_payload(data, pos, stop)
        elif data[pos] & 0x1F == _H264_FU_A and stop - pos > 2 and not data[pos + 1] & 0xC0:
            # the commonest packet: the middle of a fragmented NAL unit
            if self._fragment_at >= 0:
                self._pieces.append(data[pos + 2 : stop])
                self._fragment_size += stop - pos - 2
            else:
                self._broken = True  # its start was lost
        else:
            self._h264_payload(data, pos, stop)
        if second & 0x80:
            self._finish()
        return bool(self._ready)

    def feed_packets(self, view: memoryview, pos: int, channel: int) -> tuple[int, bool]:
        """Take the run of plain packets that follows at `view[pos:]` as RTSP interleaved
        frames on `channel`, finishing each picture at its marker, up to (not including) the
        first frame `feed` must see: what `feed` would do with each of them, in compiled code.
        Where the unread rest starts (`pos` without the compiled module), and whether an access
        unit is ready to `take`."""
        if take_packets is None or self._ssrc < 0:
            return pos, bool(self._ready)
        while True:
            (
                pos,
                self._expected,
                self._timestamp,
                self._fragment_at,
                self._fragment_size,
                keyframe,
                marked,
            ) = take_packets(
                view,
                pos,
                channel,
                self._payload_type,
                self._ssrc,
                self._timestamp,
                self._expected,
                self._fragment_at,
                self._fragment_size,
                self._h265,
                self._pieces,
            )
            if keyframe:
                self._keyframe = True
            if not marked:
                return pos, bool(self._ready)
            self._finish()

    # -- payloads ----------------------------------------------------------------------------

    def _h264_payload(self, data: Buffer, pos: int, stop: int) -> None:
        indicator = data[pos]
        kind = indicator & 0x1F
        pieces = self._pieces
        if kind == _H264_FU_A:
            if stop - pos < 3:
                self._damaged()
                return
            header = data[pos + 1]
            if header & 0x80:
                self._abandon_fragment()
                self._fragment_at = len(pieces)
                pieces += (b"", bytes((indicator & 0xE0 | header & 0x1F,)))
                self._fragment_size = 1
                if header & 0x1F == _H264_IDR:
                    self._keyframe = True
            elif self._fragment_at < 0:
                self._broken = True  # its start was lost
                return
            pieces.append(data[pos + 2 : stop])
            self._fragment_size += stop - pos - 2
            if header & 0x40:
                self._end_fragment(header & 0x1F in _H264_PARAMETER_SETS)
            return
        self._abandon_fragment()
        if 1 <= kind <= 23:
            self._unit(data, pos, stop, kind)
        elif kind == _H264_STAP_A:
            self._aggregate(data, pos + 1, stop)
        else:
            self._damaged()  # STAP-B, MTAP, FU-B: not in packetization-mode 1

    def _h265_payload(self, data: Buffer, pos: int, stop: int) -> None:
        if stop - pos < 3:
            self._damaged()
            return
        head = data[pos]
        kind = head >> 1 & 0x3F
        pieces = self._pieces
        if kind == _H265_FU:
            if stop - pos < 4:
                self._damaged()
                return
            fu = data[pos + 2]
            if fu & 0x80:
                self._abandon_fragment()
                self._fragment_at = len(pieces)
                pieces += (b"", bytes((head & 0x81 | (fu & 0x3F) << 1, data[pos + 1])))
                self._fragment_size = 2
                if 16 <= fu & 0x3F <= 23:
                    self._keyframe = True
            elif self._fragment_at < 0:
                self._broken = True
                return
            pieces.append(data[pos + 3 : stop])
            self._fragment_size += stop - pos - 3
            if fu & 0x40:
                self._end_fragment(fu & 0x3F in _H265_PARAMETER_SETS)
            return
        self._abandon_fragment()
        if kind == _H265_AP:
            self._aggregate(data, pos + 2, stop)
        elif kind < _H265_AP:
            self._unit(data, pos, stop, kind)
        else:
            self._damaged()  # PACI and reserved types

    def _unit(self, data: Buffer, pos: int, stop: int, kind: int) -> None:
        """One whole NAL unit of type `kind` at `data[pos:stop]`."""
        self._pieces += (_LENGTH.pack(stop - pos), data[pos:stop])
        if self._h265:
            if 16 <= kind <= 23:
                self._keyframe = True
            elif kind in _H265_PARAMETER_SETS:
                self._parameter_sets.append(bytes(data[pos:stop]))
        elif kind == _H264_IDR:
            self._keyframe = True
        elif kind in _H264_PARAMETER_SETS:
            self._parameter_sets.append(bytes(data[pos:stop]))

    def _aggregate(self, data: Buffer, pos: int, stop: int) -> None:
        """STAP-A / AP: 16-bit sizes, each followed by a NAL unit."""
        units: list[tuple[int, int]] = []
        while pos < stop:
            if pos + 2 > stop:
                self._damaged()
                return
            size = _SIZE.unpack_from(data, pos)[0]
            pos += 2
            if size == 0 or pos + size > stop or (self._h265 and size < 2):
                self._damaged()
                return
            units.append((pos, pos + size))
            pos += size
        if not units:
            self._damaged()
            return
        for begin, finish in units:
            kind = data[begin] >> 1 & 0x3F if self._h265 else data[begin] & 0x1F
            self._unit(data, begin, finish, kind)

    def _end_fragment(self, parameter_set: bool) -> None:
        at = self._fragment_at
        pieces = self._pieces
        pieces[at] = _LENGTH.pack(self._fragment_size)
        if parameter_set:
            self._parameter_sets.append(b"".join(pieces[at + 1 :]))
        self._fragment_at = -1

    def _abandon_fragment(self) -> None:
        if self._fragment_at >= 0:
            del self._pieces[self._fragment_at :]  # a NAL unit whose end was lost
            self._fragment_at = -1
            self._broken = True

    # -- units and loss ----------------------------------------------------------------------

    def _finish(self) -> None:
        """The current unit is complete: hand it out, or drop it."""
        self._abandon_fragment()
        pieces = self._pieces
        wire = self._timestamp
        self._timestamp = -1
        keyframe = self._keyframe
        usable = bool(pieces) and not self._broken and (keyframe or not self._waiting)
        if wire != -1:
            if self._last_wire == -1:
                self._unwrapped = wire
            else:
                step = (wire - self._last_wire) % _WRAP
                self._unwrapped += step - _WRAP if step >= _HALF else step
            self._last_wire = wire
        if usable:
            self._ready.append(
                AccessUnit(
                    b"".join(pieces),
                    self._unwrapped,
                    keyframe,
                    tuple(self._parameter_sets),
                    self._after_loss,
                )
            )
            self._waiting = False
            self._after_loss = False
            self._started = True
        elif pieces or self._broken:
            self.dropped += 1
        if pieces:
            self._pieces = []
        self._keyframe = False
        self._broken = False
        if self._parameter_sets:
            self._parameter_sets = []

    def _lose(self, packets: int) -> None:
        self.lost += packets
        self._broken = True
        if self._started:
            self._after_loss = True
        self._waiting = True

    def _damaged(self) -> None:
        self.lost += 1
        self._broken = True
        if self._started:
            self._after_loss = True
        self._waiting = True

    def _malformed(self) -> bool:
        self._damaged()
        return bool(self._ready)
