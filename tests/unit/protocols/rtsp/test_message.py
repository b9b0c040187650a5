"""RTSP/1.0 messages, RFC 2326 §6-7: wire samples, the round trip, refusing bad bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtsp import RtspError, RtspRequest, RtspResponse, parse_message
from safecity.protocols.rtsp.message import RtspMessage

from .strategies import messages

# what ffmpeg 5.1's RTSP demuxer sends first
FFMPEG_OPTIONS = (
    b"OPTIONS rtsp://127.0.0.1:8554/cam/1 RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n"
)


def test_ffmpeg_options_request_parses() -> None:
    request = RtspRequest.parse(FFMPEG_OPTIONS)
    assert request.method == "OPTIONS"
    assert request.uri == "rtsp://127.0.0.1:8554/cam/1"
    assert request.cseq == "1"
    assert request.header("user-agent") == "Lavf59.27.100"
    assert bytes(request) == FFMPEG_OPTIONS


def test_response_with_body_writes_content_length() -> None:
    response = RtspResponse(
        status=200,
        reason="OK",
        headers=(("CSeq", "2"), ("Content-Type", "application/sdp")),
        body=b"v=0\r\n",
    )
    assert bytes(response) == (
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
        b"Content-Length: 5\r\n\r\nv=0\r\n"
    )


def test_folded_header_line_is_joined() -> None:
    request = RtspRequest.parse(b"SETUP * RTSP/1.0\r\nTransport: RTP/AVP;\r\n unicast\r\n\r\n")
    assert request.header("Transport") == "RTP/AVP; unicast"


def test_other_rtsp_versions_get_505() -> None:
    with pytest.raises(RtspError) as caught:
        parse_message(b"OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n")
    assert caught.value.status == 505


def test_setting_content_length_by_hand_is_refused() -> None:
    with pytest.raises(ValueError, match="Content-Length"):
        RtspRequest(method="ANNOUNCE", uri="*", headers=(("Content-Length", "3"),))


@pytest.mark.parametrize(
    "data",
    [
        b"OPTIONS *\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\nno colon\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\n continued\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\nContent-Length: x\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\nContent-Length: 4\r\n\r\nabc",
        b"RTSP/1.0 2000 OK\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\nX: \xff\r\n\r\n",
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(RtspError):
        parse_message(data)


@given(messages)
def test_parse_of_bytes_is_the_message(message: RtspMessage) -> None:
    assert parse_message(bytes(message)) == message


@settings(max_examples=500)
@given(st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
def test_any_bytes_give_a_message_or_rtsp_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except RtspError:
        return
    assert isinstance(message, RtspRequest | RtspResponse)
