"""A clip cut into RTP packets once, so that serving it costs a copy and a header rewrite.

Each access unit becomes one `FrameTemplate`: its RTP packets (RFC 6184 / RFC 7798 payloads,
marker bit on the last, RFC 3550 header with sequence, timestamp and SSRC left zero) laid end to
end, each behind an RFC 2326 §10.12 interleaved header (`$`, channel 0, length). `stamp` copies
a template and writes a session's channel, sequence numbers, timestamp and SSRC into it: the
whole buffer goes out on a TCP connection in one write, and for UDP each packet is a slice that
skips its four-octet interleaved header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from safecity.protocols.rtp import interleaved_header, packetize, rtp_header
from safecity.protocols.rtp.interleaved import HEADER_SIZE
from safecity.protocols.rtp.packet import SEQUENCE_OFFSET, SEQUENCE_TIMESTAMP_SSRC
from safecity.protocols.rtsp import video_session

if TYPE_CHECKING:  # camera_source needs PyAV; serving a loaded clip does not
    from safecity.sim.camera_source import Clip

MAX_PAYLOAD: Final = 1400
_STAMP_AT: Final = HEADER_SIZE + SEQUENCE_OFFSET


@dataclass(frozen=True)
class FrameTemplate:
    send_at: int  # 90 kHz ticks after the loop's start (decode order)
    rtp_offset: int  # the RTP timestamp minus the loop's (presentation time)
    keyframe: bool
    template: bytes
    offsets: tuple[int, ...]  # where each packet's interleaved header starts

    @property
    def packets(self) -> int:
        return len(self.offsets)


@dataclass(frozen=True)
class PacketisedClip:
    clip: Clip
    payload_type: int
    frames: tuple[FrameTemplate, ...]

    @property
    def period(self) -> int:
        return self.clip.period

    def sdp(self, *, session_id: int, address: str) -> bytes:
        clip = self.clip
        description = video_session(
            codec=clip.codec,
            payload_type=self.payload_type,
            parameter_sets=clip.parameter_sets,
            session_id=session_id,
            address=address,
            framerate=clip.frame_rate,
            size=(clip.width, clip.height),
        )
        return bytes(description)


def packetise(
    clip: Clip, *, payload_type: int = 96, max_payload: int = MAX_PAYLOAD
) -> PacketisedClip:
    frames = []
    for unit in clip.access_units:
        payloads = packetize(clip.codec, unit.nal_units, max_payload)
        parts: list[bytes] = []
        offsets: list[int] = []
        position = 0
        for index, payload in enumerate(payloads):
            header = rtp_header(
                marker=index == len(payloads) - 1,
                payload_type=payload_type,
                sequence=0,
                timestamp=0,
                ssrc=0,
            )
            offsets.append(position)
            packet_size = len(header) + len(payload)
            parts += [interleaved_header(0, packet_size), header, payload]
            position += HEADER_SIZE + packet_size
        frames.append(
            FrameTemplate(unit.dts, unit.pts, unit.keyframe, b"".join(parts), tuple(offsets))
        )
    return PacketisedClip(clip, payload_type, tuple(frames))


def stamp(
    frame: FrameTemplate, *, channel: int, sequence: int, timestamp: int, ssrc: int
) -> bytearray:
    """The frame's packets for one session; the i-th packet gets `sequence + i`."""
    buffer = bytearray(frame.template)
    timestamp &= 0xFFFFFFFF
    pack = SEQUENCE_TIMESTAMP_SSRC.pack_into
    for index, offset in enumerate(frame.offsets):
        if channel:
            buffer[offset + 1] = channel
        pack(buffer, offset + _STAMP_AT, (sequence + index) & 0xFFFF, timestamp, ssrc)
    return buffer


def datagrams(frame: FrameTemplate, buffer: bytearray) -> list[memoryview]:
    """The RTP packets of a stamped frame, without their interleaved headers."""
    view = memoryview(buffer)
    ends = [*frame.offsets[1:], len(buffer)]
    return [view[start + HEADER_SIZE : end] for start, end in zip(frame.offsets, ends, strict=True)]
