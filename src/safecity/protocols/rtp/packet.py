"""RTP data packets, RFC 3550 §5.1 (fixed header, CSRC list), §5.3.1 (header extension) and
§5.1 P bit (padding).

```
 0                   1                   2                   3
|V=2|P|X|  CC   |M|     PT      |       sequence number         |
|                           timestamp                           |
|           synchronization source (SSRC) identifier            |
|            contributing source (CSRC) identifiers             | x CC
| defined by profile            |        length (32-bit words)  | if X
```
`RtpPacket.padding` counts the padding octets, the final count octet included (0: none); we
write zeros before the count. `rtp_header` is the fast path for a sender that only rewrites the
12-byte fixed header in front of a pre-built payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtp.errors import RtpError

VERSION: Final = 2
HEADER_SIZE: Final = 12
MAX_CSRC: Final = 15
SEQUENCE_OFFSET: Final = 2  # where sequence number, timestamp and SSRC start in the header
SEQUENCE_TIMESTAMP_SSRC: Final = struct.Struct("!HII")  # for pack_into at SEQUENCE_OFFSET
_FIXED: Final = struct.Struct("!BBHII")
_EXTENSION: Final = struct.Struct("!HH")


@dataclass(frozen=True)
class RtpExtension:
    """The one header extension of RFC 3550 §5.3.1: a profile-defined id and 32-bit words."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise ValueError("the extension profile is 16 bits")
        if len(self.data) % 4 or len(self.data) > 0xFFFF * 4:
            raise ValueError("extension data is a whole number of 32-bit words, at most 65535")


@dataclass(frozen=True, kw_only=True)
class RtpPacket:
    """One RTP packet (version 2)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    payload: bytes = b""
    padding: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise ValueError("the payload type is 7 bits")
        if not 0 <= self.sequence <= 0xFFFF:
            raise ValueError("the sequence number is 16 bits")
        if not 0 <= self.timestamp <= 0xFFFFFFFF or not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError("timestamp and SSRC are 32 bits")
        if len(self.csrcs) > MAX_CSRC or any(not 0 <= c <= 0xFFFFFFFF for c in self.csrcs):
            raise ValueError("at most 15 CSRCs of 32 bits")
        if not 0 <= self.padding <= 255:
            raise ValueError("padding is 0 (none) to 255 octets, the count octet included")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """One packet from a whole datagram or interleaved frame; `RtpError` if malformed."""
        if len(data) < HEADER_SIZE:
            raise RtpError(f"an RTP packet has at least 12 octets, not {len(data)}")
        first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
        if first >> 6 != VERSION:
            raise RtpError(f"RTP version {first >> 6}, expected 2")
        count = first & 0x0F
        pos = HEADER_SIZE + 4 * count
        if len(data) < pos:
            raise RtpError("packet shorter than its CSRC list")
        csrcs = struct.unpack_from(f"!{count}I", data, HEADER_SIZE)
        extension = None
        if first & 0x10:
            if len(data) < pos + 4:
                raise RtpError("packet shorter than its header extension")
            profile, words = _EXTENSION.unpack_from(data, pos)
            end = pos + 4 + 4 * words
            if len(data) < end:
                raise RtpError("packet shorter than its header extension")
            extension = RtpExtension(profile, bytes(data[pos + 4 : end]))
            pos = end
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < pos:
                raise RtpError(f"bad padding count {padding}")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            marker=bool(second & 0x80),
            csrcs=csrcs,
            extension=extension,
            payload=bytes(data[pos:end]),
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = VERSION << 6 | len(self.csrcs)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        parts = [
            _FIXED.pack(
                first,
                self.marker << 7 | self.payload_type,
                self.sequence,
                self.timestamp,
                self.ssrc,
            ),
            struct.pack(f"!{len(self.csrcs)}I", *self.csrcs),
        ]
        if self.extension is not None:
            ext = self.extension
            parts += [_EXTENSION.pack(ext.profile, len(ext.data) // 4), ext.data]
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes((self.padding,)))
        return b"".join(parts)


def rtp_header(
    *, marker: bool, payload_type: int, sequence: int, timestamp: int, ssrc: int
) -> bytes:
    """The 12-byte fixed header without CSRCs, extension or padding; wraps sequence and time."""
    return _FIXED.pack(
        0x80, marker << 7 | payload_type, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc
    )
