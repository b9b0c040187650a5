"""H.264 RTP payloads, RFC 6184 packetization-mode 1: single NAL units, FU-A and STAP-A."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import H264Depacketizer, RtpError
from safecity.protocols.rtp.h264 import packetize

nal_units = st.builds(
    lambda header, body: bytes((header,)) + body,
    st.integers(0, 0x7F).filter(lambda h: 1 <= h & 0x1F <= 23),
    st.binary(min_size=1, max_size=3000),
)


def test_small_nal_unit_travels_whole() -> None:
    assert packetize([b"\x65abc"], 10) == [b"\x65abc"]


def test_large_nal_unit_is_cut_into_fu_a_with_start_and_end_bits() -> None:
    nal = b"\x65" + bytes(range(20))
    payloads = packetize([nal], 10)
    assert [len(p) for p in payloads] == [10, 10, 6]
    assert [p[0] for p in payloads] == [0x7C] * 3  # F=0, NRI=3, type 28
    assert [p[1] for p in payloads] == [0x85, 0x05, 0x45]  # S, -, E and type 5
    assert b"".join(p[2:] for p in payloads) == nal[1:]


def test_stap_a_gives_each_nal_unit() -> None:
    stap = b"\x18" + b"\x00\x02\x67\x42" + b"\x00\x01\x68"
    assert H264Depacketizer().feed(stap) == [b"\x67\x42", b"\x68"]


@pytest.mark.parametrize("kind", [0, 25, 26, 27, 29, 30, 31])
def test_payload_types_outside_mode_1_are_refused(kind: int) -> None:
    with pytest.raises(RtpError):
        H264Depacketizer().feed(bytes((kind, 1, 2)))


def test_fu_a_continuation_without_its_start_is_dropped_and_counted() -> None:
    depacketizer = H264Depacketizer()
    assert depacketizer.feed(b"\x7c\x45tail") == []
    assert depacketizer.discarded == 1
    assert depacketizer.feed(b"\x41ok") == [b"\x41ok"]


def test_fu_a_left_open_by_a_new_nal_unit_is_dropped() -> None:
    depacketizer = H264Depacketizer()
    assert depacketizer.feed(b"\x7c\x85head") == []
    assert depacketizer.feed(b"\x41next") == [b"\x41next"]
    assert depacketizer.discarded == 1


@settings(max_examples=200)
@given(st.lists(nal_units, min_size=1, max_size=5), st.integers(3, 1500))
def test_depacketizing_the_payloads_gives_back_the_nal_units(
    units: list[bytes], max_payload: int
) -> None:
    payloads = packetize(units, max_payload)
    assert all(len(p) <= max_payload for p in payloads)
    depacketizer = H264Depacketizer()
    assert [nal for p in payloads for nal in depacketizer.feed(p)] == units


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=40), max_size=6))
def test_any_payloads_give_nal_units_or_rtp_error(payloads: list[bytes]) -> None:
    depacketizer = H264Depacketizer()
    for payload in payloads:
        try:
            units = depacketizer.feed(payload)
        except RtpError:
            continue
        assert all(isinstance(unit, bytes) and unit for unit in units)
