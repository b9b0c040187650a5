"""What an ingest worker sends up to the platform, as bytes: its reports, and the packets of the
cameras someone watches live.

A batch is what one `Connection.send_bytes` carries: any number of messages back to back, each a
kind octet and a 4-octet body length (big-endian) before its body, so a writer joins whatever is
ready into one write and the reader splits it again. Bodies:

- `REPORT`: one `HostReport` as JSON (`{"type": "SegmentRecord", ...}`; times ISO 8601). A few
  per camera and segment, so plainness wins over size.
- `STREAM`: a camera's `StreamInfo` (a struct: camera, session, size, time base, frame rate;
  then the codec name and the extradata). Sent before the first packet and whenever the
  camera's stream changes (a reconnect), so the platform makes one object per connection as the
  ingest thread does.
- `PACKET`: one `RingPacket` of a forwarded camera: a 57-octet struct (camera, session, pts,
  dts, duration, time base, flags, arrival UTC in microseconds, arrival `time.monotonic()`)
  and the packet's data as it is. Flag `PRIMER`: a packet of the current GOP replayed from the
  ring when forwarding starts (it primes a new viewer; it is not live).
- `GOP`: the answer to a request for ring packets (a snapshot's current GOP, or a pre-alarm
  clip's packets since a time): request id, camera, found, then (when found) a nested batch of
  one `STREAM` and the `PACKET`s (their arrival times kept: a clip's start is its first's).

`session` tells one forwarding of a camera from the next, so packets still in flight from one
that ended are not taken for the new one's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import PurePosixPath
from typing import Any, Final

from safecity.media.records import (
    CameraOffline,
    CameraOnline,
    DiskLow,
    EngineChosen,
    GapCause,
    GapRecord,
    HostReport,
    RecorderStopped,
    SegmentRecord,
)
from safecity.media.ring import RingPacket
from safecity.media.tap import Gop, StreamInfo

REPORT: Final = 1
STREAM: Final = 2
PACKET: Final = 3
GOP: Final = 4

KEYFRAME: Final = 1
PRIMER: Final = 2

_HEAD: Final = struct.Struct(">BI")
_STREAM: Final = struct.Struct(">IIIIIIIIB")
_PACKET: Final = struct.Struct(">IIqqqIIBqd")
_GOP: Final = struct.Struct(">IIB")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_REPORTS: Final[dict[str, type[HostReport]]] = {
    cls.__name__: cls
    for cls in (
        SegmentRecord,
        GapRecord,
        DiskLow,
        CameraOnline,
        CameraOffline,
        RecorderStopped,
        EngineChosen,
    )
}
_TIMES: Final = frozenset({"start", "end", "at", "since"})


class WireError(ValueError):
    """A batch that does not decode (a bug, or a worker killed in the middle of a write)."""


@dataclass(frozen=True, slots=True)
class StreamMessage:
    camera_id: int
    session: int
    stream: StreamInfo


@dataclass(frozen=True, slots=True)
class PacketMessage:
    camera_id: int
    session: int
    packet: RingPacket
    arrived: float  # time.monotonic() as it left the worker's demuxer
    primer: bool = False


@dataclass(frozen=True, slots=True)
class GopMessage:
    request_id: int
    camera_id: int
    gop: Gop | None


WireMessage = HostReport | StreamMessage | PacketMessage | GopMessage


def _message(kind: int, body: bytes) -> bytes:
    return _HEAD.pack(kind, len(body)) + body


def report_bytes(report: HostReport) -> bytes:
    data: dict[str, Any] = {"type": type(report).__name__}
    for item in dataclasses.fields(report):
        value = getattr(report, item.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, PurePosixPath):
            value = value.as_posix()
        data[item.name] = value  # a tuple becomes a list, a GapCause its string
    return _message(REPORT, json.dumps(data, separators=(",", ":")).encode())


def stream_bytes(camera_id: int, session: int, stream: StreamInfo) -> bytes:
    codec = stream.codec.encode()
    rate = stream.frame_rate
    head = _STREAM.pack(
        camera_id,
        session,
        stream.width,
        stream.height,
        stream.time_base.numerator,
        stream.time_base.denominator,
        0 if rate is None else rate.numerator,
        0 if rate is None else rate.denominator,
        len(codec),
    )
    return _message(STREAM, head + codec + stream.extradata)


def packet_bytes(
    camera_id: int, session: int, packet: RingPacket, arrived: float, *, primer: bool = False
) -> bytes:
    base = packet.time_base
    flags = (KEYFRAME if packet.keyframe else 0) | (PRIMER if primer else 0)
    head = _PACKET.pack(
        camera_id,
        session,
        packet.pts,
        packet.dts,
        packet.duration,
        base.numerator,
        base.denominator,
        flags,
        (packet.at - _EPOCH) // _MICROSECOND,
        arrived,
    )
    return _HEAD.pack(PACKET, len(head) + len(packet.data)) + head + packet.data


def gop_bytes(request_id: int, camera_id: int, gop: Gop | None) -> bytes:
    head = _GOP.pack(request_id, camera_id, gop is not None)
    if gop is None:
        return _message(GOP, head)
    parts = [stream_bytes(camera_id, 0, gop.stream)]
    parts += [packet_bytes(camera_id, 0, packet, 0.0) for packet in gop.packets]
    return _message(GOP, head + b"".join(parts))


def decode(batch: bytes | memoryview) -> list[WireMessage]:
    """The messages of one batch, in order; `WireError` if it is cut short or malformed."""
    view = memoryview(batch)
    found: list[WireMessage] = []
    offset, end = 0, len(view)
    while offset < end:
        if end - offset < _HEAD.size:
            raise WireError("a message header is cut short")
        kind, size = _HEAD.unpack_from(view, offset)
        offset += _HEAD.size
        if end - offset < size:
            raise WireError("a message body is cut short")
        body = view[offset : offset + size]
        offset += size
        try:
            found.append(_decode_one(kind, body))
        except (
            struct.error,
            ArithmeticError,
            LookupError,
            TypeError,
            ValueError,
            AttributeError,
        ) as exc:
            raise WireError(f"a message of kind {kind} does not decode: {exc}") from exc
    return found


def _decode_one(kind: int, body: memoryview) -> WireMessage:
    if kind == PACKET:
        return _packet(body)
    if kind == STREAM:
        return _stream(body)
    if kind == REPORT:
        return _report(json.loads(bytes(body)))
    if kind == GOP:
        return _gop(body)
    raise WireError(f"unknown message kind {kind}")


@functools.lru_cache(maxsize=256)
def _fraction(numerator: int, denominator: int) -> Fraction:
    return Fraction(numerator, denominator)  # one object per time base, not one per packet


def _packet(body: memoryview) -> PacketMessage:
    camera, session, pts, dts, duration, num, den, flags, at_us, arrived = _PACKET.unpack_from(body)
    at = _EPOCH + timedelta(microseconds=at_us)
    data = bytes(body[_PACKET.size :])
    packet = RingPacket(data, pts, dts, duration, _fraction(num, den), bool(flags & KEYFRAME), at)
    return PacketMessage(camera, session, packet, arrived, bool(flags & PRIMER))


def _stream(body: memoryview) -> StreamMessage:
    camera, session, width, height, num, den, rate_num, rate_den, codec_size = _STREAM.unpack_from(
        body
    )
    start = _STREAM.size
    codec = bytes(body[start : start + codec_size])
    if len(codec) != codec_size:
        raise WireError("the codec name is cut short")
    rate = Fraction(rate_num, rate_den) if rate_den else None
    extradata = bytes(body[start + codec_size :])
    info = StreamInfo(codec.decode(), extradata, width, height, _fraction(num, den), rate)
    return StreamMessage(camera, session, info)


def _gop(body: memoryview) -> GopMessage:
    request_id, camera, found = _GOP.unpack_from(body)
    if not found:
        return GopMessage(request_id, camera, None)
    inner = decode(body[_GOP.size :])
    if not inner or not isinstance(inner[0], StreamMessage):
        raise WireError("a GOP answer must start with its stream")
    packets = [item.packet for item in inner[1:] if isinstance(item, PacketMessage)]
    if len(packets) != len(inner) - 1:
        raise WireError("a GOP answer holds only its stream and packets")
    return GopMessage(request_id, camera, Gop(inner[0].stream, packets))


def _report(data: dict[str, Any]) -> HostReport:
    cls = _REPORTS[data.pop("type")]
    for key in _TIMES & data.keys():
        data[key] = datetime.fromisoformat(data[key])
    if cls is SegmentRecord:
        data["path"] = PurePosixPath(data["path"])
        data["keyframes"] = tuple(data["keyframes"])
    elif cls is GapRecord:
        data["cause"] = GapCause(data["cause"])
    report: HostReport = cls(**data)
    return report
