"""Cutting a byte stream into LF ... CR frames (DC-09-2013 §5.5.1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.dc09 import Dc09Error, FrameDecoder, RejectReason


def frames_of(items: list[bytes | Dc09Error]) -> list[bytes]:
    return [item for item in items if isinstance(item, bytes)]


def test_one_frame_in_one_read() -> None:
    assert FrameDecoder().feed(b"\nABC\r") == [b"ABC"]


def test_frame_split_across_reads() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\nAB") == []
    assert decoder.feed(b"C") == []
    assert decoder.feed(b"\r") == [b"ABC"]


def test_frames_joined_in_one_read_with_garbage_between() -> None:
    assert FrameDecoder().feed(b"xx\nA\r\x00junk\r\nB\r\r\r") == [b"A", b"B"]


def test_lf_inside_a_frame_restarts_it_and_reports_the_cut_frame() -> None:
    out = FrameDecoder().feed(b"\nhalf\nwhole\r")
    assert out[1:] == [b"whole"]
    assert isinstance(out[0], Dc09Error)
    assert out[0].reason is RejectReason.MALFORMED


def test_repeated_lf_is_not_reported() -> None:
    assert FrameDecoder().feed(b"\n\n\nA\r") == [b"A"]


def test_oversize_frame_is_dropped_and_reported_then_decoding_resumes() -> None:
    decoder = FrameDecoder(max_frame=10)
    out = decoder.feed(b"\n" + b"x" * 11)
    assert len(out) == 1
    assert isinstance(out[0], Dc09Error)
    assert out[0].reason is RejectReason.OVERSIZE
    assert decoder.feed(b"yyy\r\nok\r") == [b"ok"]


def test_frame_of_exactly_max_frame_bytes_passes() -> None:
    assert FrameDecoder(max_frame=10).feed(b"\n" + b"x" * 10 + b"\r") == [b"x" * 10]


def test_garbage_without_lf_is_dropped_silently_and_not_buffered() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"noise" * 1000) == []
    assert decoder.feed(b"\nA\r") == [b"A"]


frame_bodies = st.binary(min_size=1, max_size=60).map(
    lambda b: b.replace(b"\n", b"n").replace(b"\r", b"r")
)
garbage = st.binary(max_size=20).map(lambda b: b.replace(b"\n", b""))


@settings(max_examples=300)
@given(st.lists(st.tuples(garbage, frame_bodies), max_size=6), garbage, st.data())
def test_any_split_of_a_stream_yields_the_same_frames(
    parts: list[tuple[bytes, bytes]], tail: bytes, data: st.DataObject
) -> None:
    stream = b"".join(junk + b"\n" + body + b"\r" for junk, body in parts) + tail
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = FrameDecoder()
    out: list[bytes | Dc09Error] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    assert out == [body for _, body in parts]


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=200), max_size=5), st.integers(1, 300))
def test_any_bytes_yield_only_frames_or_errors(chunks: list[bytes], max_frame: int) -> None:
    decoder = FrameDecoder(max_frame=max_frame)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, bytes | Dc09Error)
            if isinstance(item, bytes):
                assert b"\n" not in item
                assert b"\r" not in item
                assert len(item) <= max_frame
