"""Interleaved binary frames, RFC 2326 §10.12: `$`, channel, 16-bit length, data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtp import InterleavedFrame, RtpError, interleaved_header


def test_frame_encodes_as_dollar_channel_length() -> None:
    assert bytes(InterleavedFrame(1, b"abc")) == b"$\x01\x00\x03abc"
    assert interleaved_header(2, 0x1234) == b"$\x02\x12\x34"


@pytest.mark.parametrize("data", [b"", b"$\x00\x00", b"#\x00\x00\x00", b"$\x00\x00\x02a"])
def test_malformed_frames_are_refused(data: bytes) -> None:
    with pytest.raises(RtpError):
        InterleavedFrame.parse(data)


@given(st.integers(0, 255), st.binary(max_size=300))
def test_parse_of_bytes_is_the_frame(channel: int, data: bytes) -> None:
    frame = InterleavedFrame(channel, data)
    assert InterleavedFrame.parse(bytes(frame)) == frame
