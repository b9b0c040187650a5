"""CRC-16/ARC (DC-09-2013 §5.5.1.1) against its check value and wire samples."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.dc09 import crc16_arc


def bitwise_crc16_arc(data: bytes) -> int:
    """A second, table-free implementation: reflected 0xA001, init 0."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_check_value_of_123456789_is_bb3d() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D


def test_empty_input_has_crc_zero() -> None:
    assert crc16_arc(b"") == 0


def test_siadc09_documented_frame_has_crc_8c86() -> None:
    body = b'"SIA-DCS"9876R579BDFL789ABC#123456A[#123456A|NFA129][M1234567890AB]'
    assert crc16_arc(body) == 0x8C86
    assert len(body) == 0x43


def test_nak_sample_crc_matches_bitwise_reference() -> None:
    body = b'"NAK"0000R0L0A0[]_07:08:09,05-06-2024'
    assert crc16_arc(body) == bitwise_crc16_arc(body) == 0xBEF3


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_table_crc_equals_bitwise_crc(data: bytes) -> None:
    assert crc16_arc(data) == bitwise_crc16_arc(data)
