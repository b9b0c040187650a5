"""Cutting an RTSP connection into messages and `$` frames (RFC 2326 §4, §10.12)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import InterleavedFrame
from safecity.protocols.rtsp import RtspDecoder, RtspError, RtspMessage, RtspRequest, RtspResponse
from safecity.protocols.rtsp.framing import Item

from .strategies import messages

frames = st.builds(InterleavedFrame, st.integers(0, 255), st.binary(max_size=300))
items = st.lists(messages | frames, max_size=6)


def test_request_between_binary_frames_is_found() -> None:
    stream = b"$\x01\x00\x02hi" + b"GET_PARAMETER * RTSP/1.0\r\nCSeq: 9\r\n\r\n" + b"$\x00\x00\x00"
    assert RtspDecoder().feed(stream) == [
        InterleavedFrame(1, b"hi"),
        RtspRequest(method="GET_PARAMETER", uri="*", headers=(("CSeq", "9"),)),
        InterleavedFrame(0, b""),
    ]


def test_malformed_head_is_reported_and_skipped() -> None:
    out = RtspDecoder().feed(b"nonsense\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n")
    assert isinstance(out[0], RtspError)
    assert out[1] == RtspRequest(method="OPTIONS", uri="*", headers=(("CSeq", "2"),))


def test_headers_without_end_fail_the_connection() -> None:
    decoder = RtspDecoder(max_head=100)
    out = decoder.feed(b"OPTIONS * RTSP/1.0\r\n" + b"X: y\r\n" * 30)
    assert len(out) == 1
    assert isinstance(out[0], RtspError)
    assert decoder.failed
    assert decoder.feed(b"\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n") == []


def test_oversize_body_fails_with_413() -> None:
    out = RtspDecoder(max_body=10).feed(b"ANNOUNCE * RTSP/1.0\r\nContent-Length: 11\r\n\r\n")
    assert isinstance(out[0], RtspError)
    assert out[0].status == 413


@settings(max_examples=300)
@given(items, st.data())
def test_any_split_of_a_stream_yields_the_same_items(
    parts: list[RtspMessage | InterleavedFrame], data: st.DataObject
) -> None:
    stream = b"".join(bytes(part) for part in parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = RtspDecoder()
    out: list[Item] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    assert out == parts


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_any_bytes_yield_only_messages_frames_or_errors(chunks: list[bytes]) -> None:
    decoder = RtspDecoder(max_head=200, max_body=200)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, RtspRequest | RtspResponse | InterleavedFrame | RtspError)
