"""The RTSP server state machine of one connection (RFC 2326 §10, §A.1), driven by bytes and
`now`: OPTIONS, DESCRIBE, SETUP over TCP and UDP, PLAY, keep-alive, TEARDOWN, timeouts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import InterleavedFrame
from safecity.protocols.rtsp import (
    PlayStarted,
    PlayStopped,
    RequestRefused,
    RtcpReceived,
    RtspDecoder,
    RtspResponse,
    RtspServerConnection,
    StopReason,
    StreamOffer,
    TcpTarget,
    UdpTarget,
    parse_transport_header,
)
from safecity.protocols.rtsp.server import Event

URL = "rtsp://127.0.0.1:8554/cam/1"
SDP = b"v=0\r\ns=test\r\n"


def offer(path: str) -> StreamOffer | None:
    return StreamOffer(SDP) if path == "/cam/1" else None


def connection(timeout: float = 60.0) -> RtspServerConnection:
    return RtspServerConnection(
        offer,
        peer_host="10.0.0.5",
        rng=random.Random(1),
        server_ports=(6000, 6001),
        session_timeout=timeout,
    )


def request(method: str, uri: str, cseq: int, *headers: str) -> bytes:
    lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(
    conn: RtspServerConnection, data: bytes, now: float = 0.0
) -> tuple[list[RtspResponse], list[Event]]:
    events = conn.receive_data(data, now)
    replies = RtspDecoder().feed(conn.data_to_send())
    responses = [reply for reply in replies if isinstance(reply, RtspResponse)]
    assert len(responses) == len(replies)
    return responses, events


def setup(conn: RtspServerConnection, transport: str, now: float = 0.0) -> str:
    (response,), _ = exchange(conn, request("SETUP", URL + "/trackID=0", 3, transport), now)
    assert response.status == 200
    session = response.header("Session")
    assert session is not None
    return session.split(";")[0]


def test_options_lists_the_methods() -> None:
    (response,), events = exchange(connection(), request("OPTIONS", URL, 1))
    assert response.status == 200
    assert response.cseq == "1"
    assert "GET_PARAMETER" in (response.header("Public") or "")
    assert events == []


def test_describe_gives_the_sdp_and_content_base() -> None:
    (response,), _ = exchange(connection(), request("DESCRIBE", URL, 2, "Accept: application/sdp"))
    assert response.status == 200
    assert response.body == SDP
    assert response.header("Content-Base") == URL + "/"
    assert response.header("Content-Type") == "application/sdp"


def test_describe_of_an_unknown_path_is_404() -> None:
    (response,), events = exchange(connection(), request("DESCRIBE", URL[:-1] + "9", 2))
    assert response.status == 404
    assert isinstance(events[0], RequestRefused)


def test_tcp_setup_then_play_starts_sending_on_the_interleaved_channel() -> None:
    conn = connection()
    session = setup(conn, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
    (response,), events = exchange(conn, request("PLAY", URL + "/", 4, f"Session: {session}"))
    assert response.status == 200
    (started,) = events
    assert isinstance(started, PlayStarted)
    assert started.target == TcpTarget(0, 1)
    assert started.path == "/cam/1"
    info = response.header("RTP-Info") or ""
    assert f"seq={started.sequence}" in info
    assert f"rtptime={started.rtp_time}" in info
    assert info.startswith(f"url={URL}/trackID=0")


def test_udp_setup_answers_server_ports_and_ssrc_and_sends_to_the_peer() -> None:
    conn = connection()
    (response,), _ = exchange(
        conn,
        request("SETUP", URL + "/trackID=0", 3, "Transport: RTP/AVP;unicast;client_port=5000-5001"),
    )
    (answer,) = parse_transport_header(response.header("Transport") or "")
    assert answer.server_port == (6000, 6001)
    assert answer.client_port == (5000, 5001)
    session = (response.header("Session") or "").split(";")[0]
    _, events = exchange(conn, request("PLAY", URL, 4, f"Session: {session}"))
    (started,) = events
    assert isinstance(started, PlayStarted)
    assert started.target == UdpTarget("10.0.0.5", 5000, 5001)
    assert started.ssrc == answer.ssrc


def test_udp_destination_elsewhere_is_refused() -> None:
    conn = connection()
    (response,), _ = exchange(
        conn,
        request(
            "SETUP", URL, 3, "Transport: RTP/AVP;unicast;destination=10.9.9.9;client_port=5000-5001"
        ),
    )
    assert response.status == 461


def test_multicast_is_unsupported() -> None:
    (response,), _ = exchange(
        connection(), request("SETUP", URL, 3, "Transport: RTP/AVP;multicast;port=5000-5001")
    )
    assert response.status == 461


def test_play_without_a_session_is_454() -> None:
    (response,), _ = exchange(connection(), request("PLAY", URL, 4))
    assert response.status == 454


def test_pause_is_not_implemented() -> None:
    (response,), _ = exchange(connection(), request("PAUSE", URL, 4, "Session: 1"))
    assert response.status == 501
    assert "PLAY" in (response.header("Allow") or "")


def test_request_without_cseq_is_400() -> None:
    (response,), _ = exchange(connection(), b"OPTIONS * RTSP/1.0\r\n\r\n")
    assert response.status == 400


def test_teardown_stops_the_session() -> None:
    conn = connection()
    session = setup(conn, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
    (response,), events = exchange(conn, request("TEARDOWN", URL, 5, f"Session: {session}"))
    assert response.status == 200
    assert events == [PlayStopped(session, StopReason.TEARDOWN)]
    assert conn.sessions == {}


def test_udp_session_lapses_without_keep_alive_and_get_parameter_refreshes_it() -> None:
    conn = connection(timeout=30.0)
    session = setup(conn, "Transport: RTP/AVP;unicast;client_port=5000-5001", now=0.0)
    assert conn.next_deadline() == 30.0
    (response,), _ = exchange(conn, request("GET_PARAMETER", URL, 6, f"Session: {session}"), 20.0)
    assert response.status == 200
    assert conn.next_deadline() == 50.0
    assert conn.handle_timeout(49.0) == []
    assert conn.handle_timeout(50.0) == [PlayStopped(session, StopReason.TIMEOUT)]


def test_interleaved_session_does_not_lapse_and_its_rtcp_is_reported() -> None:
    conn = connection(timeout=30.0)
    session = setup(conn, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
    assert conn.next_deadline() is None
    _, events = exchange(conn, bytes(InterleavedFrame(1, b"\x81\xc9rr")), 100.0)
    assert events == [RtcpReceived(session, b"\x81\xc9rr")]


def test_connection_lost_stops_every_session() -> None:
    conn = connection()
    first = setup(conn, "Transport: RTP/AVP/TCP;unicast")
    second = setup(conn, "Transport: RTP/AVP/TCP;unicast")
    assert {s.target for s in conn.sessions.values()} == {TcpTarget(0, 1), TcpTarget(2, 3)}
    assert set(conn.connection_lost()) == {
        PlayStopped(first, StopReason.CONNECTION_LOST),
        PlayStopped(second, StopReason.CONNECTION_LOST),
    }


def test_framing_loss_answers_and_asks_to_close() -> None:
    conn = RtspServerConnection(offer, peer_host="h", rng=random.Random(1))
    conn.decoder.max_head = 50
    conn.receive_data(b"OPTIONS * RTSP/1.0\r\n" + b"X: y\r\n" * 20, 0.0)
    assert conn.data_to_send().startswith(b"RTSP/1.0 400 ")
    assert conn.should_close


@pytest.mark.parametrize("uri", [URL, URL + "/", URL + "/trackID=0", "/cam/1"])
def test_each_spelling_of_the_stream_is_found(uri: str) -> None:
    (response,), _ = exchange(connection(), request("DESCRIBE", uri, 1))
    assert response.status == 200


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=100), max_size=5))
def test_any_bytes_never_raise(chunks: list[bytes]) -> None:
    conn = connection()
    for index, chunk in enumerate(chunks):
        conn.receive_data(chunk, float(index))
        conn.data_to_send()
    conn.handle_timeout(1000.0)
    conn.connection_lost()
