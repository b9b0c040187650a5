"""H.264 over RTP, RFC 6184 in packetization-mode 1 (non-interleaved, §6.3): single NAL unit
packets (§5.6) and FU-A fragments (§5.8) out; single NAL units, STAP-A (§5.7.1) and FU-A in.

```
FU indicator  |F|NRI|  28   |   FU header  |S|E|R| Type |   then the NAL unit minus its header
STAP-A        |F|NRI|  24   |   (16-bit size, NAL unit)...
```
The sender sets the RTP marker bit on the last packet of each access unit (§5.1); `packetize`
returns one access unit's payloads in order, so that is the last one. The depacketiser gives
back whole NAL units; grouping them into access units by marker or timestamp is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from safecity.protocols.rtp.errors import RtpError

STAP_A: Final = 24
FU_A: Final = 28
SPS: Final = 7
PPS: Final = 8
IDR: Final = 5
ACCESS_UNIT_DELIMITER: Final = 9
DEFAULT_MAX_PAYLOAD: Final = 1400  # fits a 1500-octet Ethernet MTU with IP, UDP and RTP headers


def nal_type(nal: bytes) -> int:
    """nal_unit_type, the low five bits of the one-octet NAL header (H.264 §7.3.1)."""
    return nal[0] & 0x1F


def packetize(nal_units: Iterable[bytes], max_payload: int = DEFAULT_MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads for one access unit: a NAL unit that fits travels whole, others as FU-A."""
    if max_payload < 3:
        raise ValueError("an FU-A payload needs room for its two header octets and data")
    payloads: list[bytes] = []
    for nal in nal_units:
        if not nal:
            raise ValueError("empty NAL unit")
        if len(nal) <= max_payload:
            payloads.append(bytes(nal))
            continue
        indicator = bytes((nal[0] & 0xE0 | FU_A,))
        kind = nal[0] & 0x1F
        chunk = max_payload - 2
        body = memoryview(nal)[1:]
        last = len(body) - 1
        for offset in range(0, len(body), chunk):
            header = kind
            if offset == 0:
                header |= 0x80
            if offset + chunk > last:
                header |= 0x40
            payloads.append(indicator + bytes((header,)) + body[offset : offset + chunk])
    return payloads


class H264Depacketizer:
    """RTP payloads in, NAL units out. Call `reset()` after packet loss to drop a broken FU-A.

    A fragmented NAL unit left open by a new start or a whole NAL unit, and FU-A continuations
    without their start (packet loss), are dropped and counted in `discarded`.
    """

    def __init__(self) -> None:
        self._fragments: list[bytes] = []
        self.discarded = 0

    def reset(self) -> None:
        self._abandon()

    def feed(self, payload: bytes) -> list[bytes]:
        """The NAL units this payload completes; `RtpError` for a payload mode 1 forbids."""
        if len(payload) < 1:
            raise RtpError("empty H.264 RTP payload")
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._abandon()
            return [bytes(payload)]
        if kind == STAP_A:
            self._abandon()
            return aggregated_units(payload, 1)
        if kind == FU_A:
            return self._fragment(payload)
        self._abandon()
        raise RtpError(f"H.264 payload type {kind} is not allowed in packetization-mode 1")

    def _abandon(self) -> None:
        if self._fragments:
            self._fragments = []
            self.discarded += 1

    def _fragment(self, payload: bytes) -> list[bytes]:
        if len(payload) < 3:
            self._abandon()
            raise RtpError("FU-A payload without data")
        header = payload[1]
        start, end = bool(header & 0x80), bool(header & 0x40)
        if start:
            self._abandon()
            self._fragments = [bytes((payload[0] & 0xE0 | header & 0x1F,)), payload[2:]]
        elif not self._fragments:
            self.discarded += 1
            return []
        else:
            self._fragments.append(payload[2:])
        if not end:
            return []
        nal = b"".join(self._fragments)
        self._fragments = []
        return [nal]


def aggregated_units(payload: bytes, header_size: int) -> list[bytes]:
    """The NAL units of an aggregation packet after its `header_size`-octet header, a 16-bit
    size before each: STAP-A (RFC 6184 §5.7.1) and H.265 AP without DONL (RFC 7798 §4.4.2)."""
    units: list[bytes] = []
    pos = header_size
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise RtpError("aggregation packet cut short in a NAL unit size")
        size = int.from_bytes(payload[pos : pos + 2], "big")
        pos += 2
        if size == 0 or pos + size > len(payload):
            raise RtpError(f"aggregated NAL unit of {size} octets does not fit")
        units.append(bytes(payload[pos : pos + size]))
        pos += size
    if not units:
        raise RtpError("aggregation packet without NAL units")
    return units
