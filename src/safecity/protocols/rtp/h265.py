"""H.265 over RTP, RFC 7798 without DONL (sprop-max-don-diff 0, §4.4): single NAL unit packets
(§4.4.1) and fragmentation units (FU, §4.4.3) out; single NAL units, aggregation packets (AP,
§4.4.2) and FUs in. PACI packets (§4.4.4) are refused.

```
NAL unit header  |F|   Type    |  LayerId  | TID |       (two octets, H.265 §7.3.1.2)
FU               payload header (Type 49) |S|E| FuType |  then the NAL unit minus its header
AP               payload header (Type 48), then (16-bit size, NAL unit)...
```
As for H.264, the marker bit goes on the last packet of an access unit (§4.1), the last
payload `packetize` returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from safecity.protocols.rtp.errors import RtpError
from safecity.protocols.rtp.h264 import DEFAULT_MAX_PAYLOAD, aggregated_units

AGGREGATION: Final = 48
FRAGMENTATION: Final = 49
PACI: Final = 50
VPS: Final = 32
SPS: Final = 33
PPS: Final = 34
ACCESS_UNIT_DELIMITER: Final = 35
IRAP_TYPES: Final = range(16, 24)  # BLA, IDR and CRA pictures (H.265 Table 7-1)


def nal_type(nal: bytes) -> int:
    """nal_unit_type, six bits after the forbidden bit of the two-octet NAL header."""
    return nal[0] >> 1 & 0x3F


def packetize(nal_units: Iterable[bytes], max_payload: int = DEFAULT_MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads for one access unit: a NAL unit that fits travels whole, others as FUs."""
    if max_payload < 4:
        raise ValueError("an FU payload needs room for its three header octets and data")
    payloads: list[bytes] = []
    for nal in nal_units:
        if len(nal) < 3:
            raise ValueError("an H.265 NAL unit has a two-octet header and data")
        if len(nal) <= max_payload:
            payloads.append(bytes(nal))
            continue
        header = bytes((nal[0] & 0x81 | FRAGMENTATION << 1, nal[1]))
        kind = nal_type(nal)
        chunk = max_payload - 3
        body = memoryview(nal)[2:]
        for offset in range(0, len(body), chunk):
            fu = kind
            if offset == 0:
                fu |= 0x80
            if offset + chunk >= len(body):
                fu |= 0x40
            payloads.append(header + bytes((fu,)) + body[offset : offset + chunk])
    return payloads


class H265Depacketizer:
    """RTP payloads in, NAL units out; incomplete FUs are dropped and counted in `discarded`."""

    def __init__(self) -> None:
        self._fragments: list[bytes] = []
        self.discarded = 0

    def reset(self) -> None:
        self._abandon()

    def feed(self, payload: bytes) -> list[bytes]:
        """The NAL units this payload completes; `RtpError` for a payload we cannot read."""
        if len(payload) < 3:
            self._abandon()
            raise RtpError("an H.265 RTP payload has a two-octet header and data")
        kind = nal_type(payload)
        if kind == FRAGMENTATION:
            return self._fragment(payload)
        self._abandon()
        if kind == AGGREGATION:
            return aggregated_units(payload, 2)
        if kind == PACI or kind > PACI:
            raise RtpError(f"H.265 payload type {kind} is not supported")
        return [bytes(payload)]

    def _abandon(self) -> None:
        if self._fragments:
            self._fragments = []
            self.discarded += 1

    def _fragment(self, payload: bytes) -> list[bytes]:
        fu = payload[2]
        if len(payload) < 4:
            self._abandon()
            raise RtpError("H.265 FU without data")
        if fu & 0x80:
            self._abandon()
            header = bytes((payload[0] & 0x81 | (fu & 0x3F) << 1, payload[1]))
            self._fragments = [header, payload[3:]]
        elif not self._fragments:
            self.discarded += 1
            return []
        else:
            self._fragments.append(payload[3:])
        if not fu & 0x40:
            return []
        nal = b"".join(self._fragments)
        self._fragments = []
        return [nal]
