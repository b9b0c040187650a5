"""The Transport header, RFC 2326 §12.39."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtsp import (
    LowerTransport,
    RtspError,
    TransportSpec,
    format_transport_header,
    parse_transport_header,
)

ports = st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda p: (min(p), max(p)))
channels = st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda p: (min(p), max(p)))
words = st.text("abcdefghijklmnopqrstuvwxyz0123456789.:-", min_size=1, max_size=12)
specs = st.builds(
    TransportSpec,
    protocol=st.sampled_from(["RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"]),
    unicast=st.booleans(),
    destination=st.none() | words,
    source=st.none() | words,
    interleaved=st.none() | channels,
    ttl=st.none() | st.integers(0, 255),
    port=st.none() | ports,
    client_port=st.none() | ports,
    server_port=st.none() | ports,
    ssrc=st.none() | st.integers(0, 0xFFFFFFFF),
    mode=st.none() | st.sampled_from(["PLAY", '"PLAY"', "RECORD"]),
    extra=st.lists(
        st.tuples(st.sampled_from(["append", "x-foo", "layers"]), st.none() | words), max_size=2
    ).map(tuple),
)


def test_ffmpeg_udp_request_is_read() -> None:
    (spec,) = parse_transport_header("RTP/AVP/UDP;unicast;client_port=36842-36843")
    assert spec.lower_transport is LowerTransport.UDP
    assert spec.client_port == (36842, 36843)


def test_tcp_interleaved_request_is_read() -> None:
    (spec,) = parse_transport_header("RTP/AVP/TCP;unicast;interleaved=0-1")
    assert spec.lower_transport is LowerTransport.TCP
    assert spec.interleaved == (0, 1)


def test_alternatives_keep_their_order() -> None:
    specs = parse_transport_header(
        "RTP/AVP/TCP;unicast;interleaved=2-3, RTP/AVP;unicast;client_port=5000-5001"
    )
    assert [s.lower_transport for s in specs] == [LowerTransport.TCP, LowerTransport.UDP]


def test_answer_writes_ssrc_as_eight_hex_digits() -> None:
    spec = TransportSpec(client_port=(5000, 5001), server_port=(6000, 6001), ssrc=0xAB)
    assert str(spec) == "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=000000AB"


@pytest.mark.parametrize(
    "header",
    ["", "RTP", "RTP/AVP;client_port=70000", "RTP/AVP;interleaved=a-b", "RTP/AVP;ssrc=xyz"],
)
def test_unreadable_transport_is_refused_with_461(header: str) -> None:
    with pytest.raises(RtspError) as caught:
        parse_transport_header(header)
    assert caught.value.status == 461


@given(st.lists(specs, min_size=1, max_size=3).map(tuple))
def test_parse_of_the_header_is_the_specs(alternatives: tuple[TransportSpec, ...]) -> None:
    assert parse_transport_header(format_transport_header(alternatives)) == alternatives


@given(st.text(max_size=80))
def test_any_text_gives_specs_or_rtsp_error(text: str) -> None:
    with contextlib.suppress(RtspError):
        parse_transport_header(text)
