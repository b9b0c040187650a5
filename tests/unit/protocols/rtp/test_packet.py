"""RTP packets, RFC 3550 §5.1: wire samples, the round trip, and refusing malformed bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import RtpError, RtpExtension, RtpPacket, rtp_header

u32 = st.integers(0, 0xFFFFFFFF)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=u32,
    ssrc=u32,
    marker=st.booleans(),
    csrcs=st.lists(u32, max_size=15).map(tuple),
    extension=st.none()
    | st.builds(
        RtpExtension,
        profile=st.integers(0, 0xFFFF),
        data=st.integers(0, 8).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
    ),
    payload=st.binary(max_size=64),
    padding=st.integers(0, 255),
)


def test_minimal_packet_encodes_to_the_reference_bytes() -> None:
    packet = RtpPacket(
        payload_type=96, sequence=0x1234, timestamp=0x01020304, ssrc=0xDEADBEEF, marker=True
    )
    assert bytes(packet) == bytes.fromhex("80e0123401020304deadbeef")


def test_csrc_extension_and_padding_are_read() -> None:
    data = (
        bytes.fromhex("b1 60 0001 00000002 00000003")  # V=2 P X CC=1, PT 96
        + bytes.fromhex("0000000a")  # CSRC
        + bytes.fromhex("bede 0001 11223344")  # one-word extension
        + b"payload"
        + bytes.fromhex("000003")  # three octets of padding
    )
    packet = RtpPacket.parse(data)
    assert packet.csrcs == (10,)
    assert packet.extension == RtpExtension(0xBEDE, bytes.fromhex("11223344"))
    assert packet.payload == b"payload"
    assert packet.padding == 3
    assert bytes(packet) == data


def test_fast_header_matches_the_packet_encoding() -> None:
    header = rtp_header(marker=False, payload_type=97, sequence=70000, timestamp=2**32 + 5, ssrc=9)
    assert header == bytes(RtpPacket(payload_type=97, sequence=70000 - 65536, timestamp=5, ssrc=9))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x80\x60\x00", id="shorter-than-12"),
        pytest.param(bytes.fromhex("40600001000000020000000300"), id="version-1"),
        pytest.param(bytes.fromhex("82600001000000020000000300"), id="cut-csrc-list"),
        pytest.param(bytes.fromhex("90600001000000020000000300"), id="cut-extension"),
        pytest.param(bytes.fromhex("a06000010000000200000003aa05"), id="padding-too-long"),
        pytest.param(bytes.fromhex("a0600001000000020000000300"), id="padding-count-zero"),
    ],
)
def test_malformed_packets_are_refused(data: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(data)


@given(packets)
def test_parse_of_bytes_is_the_packet(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@settings(max_examples=500)
@given(st.binary(max_size=80))
def test_any_bytes_give_a_packet_or_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet
