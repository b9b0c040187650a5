"""RTP and RTCP interleaved in an RTSP TCP connection, RFC 2326 §10.12 (RFC 7826 §14).

```
'$' (0x24) | channel (1 octet) | length (2 octets, big-endian) | that many octets of RTP/RTCP
```
The channel pair comes from the Transport header's `interleaved=` (RTP on the first, RTCP on
the second). Cutting a stream that mixes these frames with RTSP messages is `rtsp.framing`'s
job; this module reads and writes one frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtp.errors import RtpError

MAGIC: Final = 0x24  # '$'
HEADER_SIZE: Final = 4
MAX_DATA: Final = 0xFFFF
_HEADER: Final = struct.Struct("!BBH")


@dataclass(frozen=True)
class InterleavedFrame:
    """One binary frame on an RTSP connection."""

    channel: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.channel <= 255:
            raise ValueError("the channel is one octet")
        if len(self.data) > MAX_DATA:
            raise ValueError("an interleaved frame carries at most 65535 octets")

    @classmethod
    def parse(cls, data: bytes) -> InterleavedFrame:
        """Exactly one whole frame; `RtpError` otherwise."""
        if len(data) < HEADER_SIZE or data[0] != MAGIC:
            raise RtpError("an interleaved frame starts with '$', channel and length")
        _, channel, length = _HEADER.unpack_from(data)
        if len(data) != HEADER_SIZE + length:
            raise RtpError(f"interleaved frame says {length} octets, has {len(data) - 4}")
        return cls(channel, bytes(data[HEADER_SIZE:]))

    def __bytes__(self) -> bytes:
        return interleaved_header(self.channel, len(self.data)) + self.data


def interleaved_header(channel: int, length: int) -> bytes:
    """The four octets before `length` octets of data on `channel`."""
    return _HEADER.pack(MAGIC, channel, length)
