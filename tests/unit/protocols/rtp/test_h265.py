"""H.265 RTP payloads, RFC 7798 without DONL: single NAL units, FU and AP."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import H265Depacketizer, RtpError
from safecity.protocols.rtp.h265 import nal_type, packetize

nal_units = st.builds(
    lambda kind, layer_tid, body: bytes((kind << 1, layer_tid)) + body,
    st.integers(0, 40),
    st.integers(1, 7),  # LayerId 0, TemporalId + 1 in 1..7
    st.binary(min_size=1, max_size=3000),
)


def test_small_nal_unit_travels_whole() -> None:
    idr = bytes((19 << 1, 1)) + b"abc"
    assert packetize([idr], 10) == [idr]


def test_large_nal_unit_is_cut_into_fus_keeping_layer_and_tid() -> None:
    idr = bytes((19 << 1, 1)) + bytes(range(20))
    payloads = packetize([idr], 10)
    assert [len(p) for p in payloads] == [10, 10, 9]
    assert all(nal_type(p) == 49 and p[1] == 1 for p in payloads)
    assert [p[2] for p in payloads] == [0x80 | 19, 19, 0x40 | 19]
    assert b"".join(p[3:] for p in payloads) == idr[2:]


def test_aggregation_packet_gives_each_nal_unit() -> None:
    vps, sps = bytes((32 << 1, 1, 7)), bytes((33 << 1, 1, 8, 9))
    ap = bytes((48 << 1, 1)) + b"\x00\x03" + vps + b"\x00\x04" + sps
    assert H265Depacketizer().feed(ap) == [vps, sps]


def test_paci_is_refused() -> None:
    with pytest.raises(RtpError):
        H265Depacketizer().feed(bytes((50 << 1, 1, 0, 0)))


def test_fu_without_its_start_is_dropped_and_counted() -> None:
    depacketizer = H265Depacketizer()
    assert depacketizer.feed(bytes((49 << 1, 1, 0x40 | 19)) + b"tail") == []
    assert depacketizer.discarded == 1


@settings(max_examples=200)
@given(st.lists(nal_units, min_size=1, max_size=5), st.integers(4, 1500))
def test_depacketizing_the_payloads_gives_back_the_nal_units(
    units: list[bytes], max_payload: int
) -> None:
    payloads = packetize(units, max_payload)
    assert all(len(p) <= max_payload for p in payloads)
    depacketizer = H265Depacketizer()
    assert [nal for p in payloads for nal in depacketizer.feed(p)] == units


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=40), max_size=6))
def test_any_payloads_give_nal_units_or_rtp_error(payloads: list[bytes]) -> None:
    depacketizer = H265Depacketizer()
    for payload in payloads:
        try:
            units = depacketizer.feed(payload)
        except RtpError:
            continue
        assert all(isinstance(unit, bytes) and unit for unit in units)
