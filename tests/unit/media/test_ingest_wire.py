"""The ingest workers' up-pipe codec: every report, stream, packet and GOP answer comes back as
it was sent, batches split in order, and anything cut short or garbled is a `WireError`."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.media.ingest_wire import (
    GopMessage,
    PacketMessage,
    StreamMessage,
    WireError,
    decode,
    gop_bytes,
    packet_bytes,
    report_bytes,
    stream_bytes,
)
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

T0 = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
STREAM = StreamInfo("h264", b"\x01\x64\x00\x1f", 1280, 720, Fraction(1, 90_000), Fraction(25))

REPORTS: list[HostReport] = [
    SegmentRecord(
        camera_id=7,
        start=T0,
        end=T0 + timedelta(seconds=60.04),
        bytes=15_000_000,
        path=PurePosixPath("7/2026/03/01/20260301T080000.123Z.mp4"),
        codec="hevc",
        frames=1501,
        keyframes=(0.0, 2.0, 4.04),
    ),
    GapRecord(7, T0, T0 + timedelta(seconds=3), GapCause.SOURCE_LOST),
    DiskLow(7, 1 << 33),
    CameraOnline(7, T0),
    CameraOffline(7, T0, T0 - timedelta(seconds=10), "stream failed: 'connection reset' ☃"),
    RecorderStopped(7),
    EngineChosen(7, "pyav"),
]


def packet(data: bytes = b"\x00\x00\x00\x02\x65\x88", *, keyframe: bool = True) -> RingPacket:
    return RingPacket(data, 900_000, 896_400, 3600, Fraction(1, 90_000), keyframe, T0)


def stream_fields(stream: StreamInfo) -> tuple[object, ...]:
    return (
        stream.codec,
        stream.extradata,
        stream.width,
        stream.height,
        stream.time_base,
        stream.frame_rate,
    )


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: type(r).__name__)
def test_every_report_comes_back_equal(report: HostReport) -> None:
    assert decode(report_bytes(report)) == [report]


def test_a_stream_info_comes_back_with_its_fields_and_session() -> None:
    for stream in (STREAM, StreamInfo("hevc", b"", 320, 180, Fraction(1, 1000))):
        (message,) = decode(stream_bytes(9, 41, stream))
        assert isinstance(message, StreamMessage)
        assert (message.camera_id, message.session) == (9, 41)
        assert stream_fields(message.stream) == stream_fields(stream)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=2000),
    pts=st.integers(-(2**63), 2**63 - 1),
    dts=st.integers(-(2**63), 2**63 - 1),
    duration=st.integers(0, 2**63 - 1),
    numerator=st.integers(1, 2**32 - 1),
    denominator=st.integers(1, 2**32 - 1),
    keyframe=st.booleans(),
    at=st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    arrived=st.floats(allow_nan=False, allow_infinity=False),
    primer=st.booleans(),
)
def test_a_packet_comes_back_equal(
    data: bytes,
    pts: int,
    dts: int,
    duration: int,
    numerator: int,
    denominator: int,
    keyframe: bool,
    at: datetime,
    arrived: float,
    primer: bool,
) -> None:
    sent = RingPacket(data, pts, dts, duration, Fraction(numerator, denominator), keyframe, at)
    (message,) = decode(packet_bytes(3, 5, sent, arrived, primer=primer))
    assert message == PacketMessage(3, 5, sent, arrived, primer)


def test_a_batch_splits_into_its_messages_in_order_sharing_time_bases() -> None:
    first, second = packet(), packet(b"\x00\x00\x00\x01\x41", keyframe=False)
    batch = b"".join(
        [
            report_bytes(REPORTS[0]),
            stream_bytes(1, 2, STREAM),
            packet_bytes(1, 2, first, 10.5, primer=True),
            packet_bytes(1, 2, second, 10.75),
            report_bytes(REPORTS[-1]),
        ]
    )
    messages = decode(batch)
    assert [type(m).__name__ for m in messages] == [
        "SegmentRecord",
        "StreamMessage",
        "PacketMessage",
        "PacketMessage",
        "EngineChosen",
    ]
    packets = [m for m in messages if isinstance(m, PacketMessage)]
    assert [(p.packet, p.arrived, p.primer) for p in packets] == [
        (first, 10.5, True),
        (second, 10.75, False),
    ]
    assert packets[0].packet.time_base is packets[1].packet.time_base  # not one per packet


def test_a_gop_answer_carries_the_stream_and_its_packets_or_says_none() -> None:
    gop = Gop(STREAM, [packet(), packet(b"\x00\x00\x00\x01\x41", keyframe=False)])
    (found,) = decode(gop_bytes(17, 4, gop))
    (missing,) = decode(gop_bytes(18, 4, None))
    assert isinstance(found, GopMessage)
    assert (found.request_id, found.camera_id) == (17, 4)
    assert found.gop is not None
    assert stream_fields(found.gop.stream) == stream_fields(STREAM)
    assert found.gop.packets == gop.packets
    assert missing == GopMessage(18, 4, None)


def test_a_batch_cut_anywhere_is_refused() -> None:
    batch = report_bytes(REPORTS[0]) + packet_bytes(1, 2, packet(), 1.0)
    for cut in range(1, len(batch)):
        if cut == len(report_bytes(REPORTS[0])):
            continue  # a whole first message is a valid batch
        with pytest.raises(WireError):
            decode(batch[:cut])


def test_an_unknown_kind_or_report_type_is_refused() -> None:
    with pytest.raises(WireError, match="kind 9"):
        decode(b"\x09\x00\x00\x00\x00")
    with pytest.raises(WireError):
        decode(b"\x01\x00\x00\x00\x0f" + b'{"type":"Nope"}')
    with pytest.raises(WireError):
        decode(b"\x01\x00\x00\x00\x02[]")
    zero_base = bytearray(packet_bytes(1, 2, packet(), 1.0))
    zero_base[5 + 36 : 5 + 40] = bytes(4)  # the time base's denominator
    with pytest.raises(WireError):
        decode(bytes(zero_base))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_messages_or_a_wire_error(data: bytes) -> None:
    with contextlib.suppress(WireError):
        assert isinstance(decode(data), list)
