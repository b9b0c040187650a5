"""The RTSP client state machine (RFC 2326 §10), talking to our sans-IO server or to scripted
answers: the exchange up to PLAY over TCP and UDP, interleaved RTP into access units, Basic and
Digest authentication, keep-alives and timeouts, and any bytes giving events or `RtspError`."""

from __future__ import annotations

import hashlib
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import (
    ParameterSets,
    VideoCodec,
    interleaved_header,
    packetize,
    rtp_header,
)
from safecity.protocols.rtp.access_unit import AccessUnit
from safecity.protocols.rtsp import (
    PlayStarted,
    RtspError,
    RtspServerConnection,
    StreamOffer,
    TcpTarget,
    video_session,
)
from safecity.protocols.rtsp.auth import Challenge, Credentials
from safecity.protocols.rtsp.client import (
    ClientState,
    PlaybackStarted,
    RequestRefused,
    RtspClient,
    SessionTimedOut,
    StreamDescribed,
    StreamUnsupported,
)
from safecity.protocols.rtsp.track import control_url
from safecity.protocols.rtsp.transport import LowerTransport

URL = "rtsp://127.0.0.1:8554/cam/1"
SPS = b"\x67\x64\x00\x1f\xac\xb4"
PPS = b"\x68\xee\x3c\xb0"
IDR = b"\x65" + bytes(range(50))
SDP = bytes(
    video_session(
        codec=VideoCodec.H264,
        payload_type=96,
        parameter_sets=ParameterSets(sps=(SPS,), pps=(PPS,)),
        session_id=1,
        framerate=25,
    )
)


def server() -> RtspServerConnection:
    return RtspServerConnection(
        lambda path: StreamOffer(SDP) if path == "/cam/1" else None,
        peer_host="127.0.0.1",
        rng=random.Random(2),
        server_ports=(7000, 7001),
    )


def talk(client: RtspClient, peer: RtspServerConnection, now: float = 0.0) -> list[object]:
    """Pass bytes both ways until both are quiet; the client's events and the server's."""
    events: list[object] = []
    while data := client.data_to_send():
        events += peer.receive_data(data, now)
        reply = peer.data_to_send()
        if reply:
            events += client.receive_data(reply, now)
    return events


def playing(transport: LowerTransport = LowerTransport.TCP) -> tuple[RtspClient, list[object]]:
    client = RtspClient(URL, transport=transport, client_ports=(5000, 5001), rng=random.Random(1))
    client.start(0.0)
    return client, talk(client, server())


def frame(channel: int, sequence: int, timestamp: int, payload: bytes, *, marker: bool) -> bytes:
    packet = rtp_header(
        marker=marker, payload_type=96, sequence=sequence, timestamp=timestamp, ssrc=9
    )
    return interleaved_header(channel, len(packet) + len(payload)) + packet + payload


def test_the_exchange_reaches_play_over_tcp_and_describes_the_track() -> None:
    client, events = playing()

    described = next(e for e in events if isinstance(e, StreamDescribed))
    started = next(e for e in events if isinstance(e, PlayStarted))
    assert described.track.codec is VideoCodec.H264
    assert described.track.parameter_sets == ParameterSets(sps=(SPS,), pps=(PPS,))
    assert described.track.control == URL + "/trackID=0"
    assert described.track.framerate == 25
    assert isinstance(started.target, TcpTarget)
    assert client.state is ClientState.PLAYING
    assert any(isinstance(e, PlaybackStarted) for e in events)


def test_the_exchange_reaches_play_over_udp_with_the_client_ports() -> None:
    client, events = playing(LowerTransport.UDP)

    started = next(e for e in events if isinstance(e, PlayStarted))
    assert (started.target.rtp_port, started.target.rtcp_port) == (5000, 5001)  # type: ignore[union-attr]
    assert client.server_transport is not None
    assert client.server_transport.server_port == (7000, 7001)


def test_interleaved_rtp_in_any_chunking_becomes_access_units() -> None:
    client, _ = playing()
    stream = frame(0, 1, 1000, IDR, marker=True) + frame(1, 0, 0, b"rtcp", marker=False)
    stream += frame(0, 2, 4600, b"\x41" + bytes(20), marker=True)

    units: list[object] = []
    for index in range(len(stream)):
        units += client.receive_data(stream[index : index + 1], 1.0)

    assert [type(u) for u in units] == [AccessUnit, AccessUnit]
    assert isinstance(units[0], AccessUnit)
    assert units[0].keyframe
    assert units[0].nal_units() == [IDR]


def test_udp_datagrams_become_access_units() -> None:
    client, _ = playing(LowerTransport.UDP)
    packet = rtp_header(marker=True, payload_type=96, sequence=4, timestamp=0, ssrc=1) + IDR

    (unit,) = client.receive_datagram(packet, 1.0)

    assert unit.nal_units() == [IDR]


def test_a_keep_alive_goes_out_before_the_session_times_out() -> None:
    client, _ = playing()
    client.receive_data(frame(0, 1, 1000, IDR, marker=True), 29.0)
    deadline = client.next_deadline()
    assert deadline == 30.0  # half the server's 60 s timeout after the PLAY

    assert client.handle_timeout(30.0) == []

    assert client.data_to_send().startswith(b"GET_PARAMETER rtsp://127.0.0.1:8554/cam/1")


def test_a_stream_without_data_times_out() -> None:
    client, _ = playing()

    events = client.handle_timeout(5.0)

    assert events == [SessionTimedOut("no data for 5 s")]
    assert client.closed


def test_an_unanswered_exchange_times_out() -> None:
    client = RtspClient(URL, open_timeout_s=2)
    client.start(0.0)

    assert client.handle_timeout(2.0) == [SessionTimedOut("no answer to OPTIONS")]


def scripted(client: RtspClient, *answers: str) -> list[object]:
    """Answer the client's requests in turn with `answers` (CSeq filled in)."""
    events: list[object] = []
    for answer in answers:
        sent = client.data_to_send().decode()
        cseq = re.search(r"CSeq: (\d+)", sent)
        assert cseq is not None, sent
        text = answer.replace("{cseq}", cseq[1])
        events += client.receive_data(text.encode(), 0.0)
    return events


def test_a_401_is_answered_with_digest_and_the_retry_carries_a_valid_response() -> None:
    client = RtspClient(URL, credentials=Credentials("admin", "s3cret", random.Random(4)))
    client.start(0.0)
    challenge = 'Digest realm="cam", nonce="abc123", qop="auth"'
    scripted(
        client,
        f"RTSP/1.0 401 Unauthorized\r\nCSeq: {{cseq}}\r\nWWW-Authenticate: {challenge}\r\n\r\n",
    )

    retry = client.data_to_send().decode()

    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', retry.split("Authorization: Digest ")[1]))
    ha1 = hashlib.md5(b"admin:cam:s3cret").hexdigest()
    ha2 = hashlib.md5(f"OPTIONS:{URL}".encode()).hexdigest()
    expected = f"{ha1}:abc123:{fields['nc']}:{fields['cnonce']}:auth:{ha2}"
    assert fields["response"] == hashlib.md5(expected.encode()).hexdigest()
    assert retry.startswith("OPTIONS ")


def test_basic_credentials_follow_a_basic_challenge_and_stay_on_later_requests() -> None:
    client = RtspClient(URL, credentials=Credentials("admin", "pw"))
    client.start(0.0)
    scripted(
        client,
        'RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n',
        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n",
    )

    assert "Authorization: Basic YWRtaW46cHc=" in client.data_to_send().decode()  # DESCRIBE


def test_wrong_credentials_end_in_a_refusal_not_a_loop() -> None:
    client = RtspClient(URL, credentials=Credentials("admin", "wrong"))
    client.start(0.0)
    refusal = (
        'RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n'
    )

    events = scripted(client, refusal, refusal)

    assert events == [RequestRefused("OPTIONS", 401, "Unauthorized")]


def test_a_stream_without_h264_or_h265_is_unsupported() -> None:
    client = RtspClient(URL)
    client.start(0.0)
    sdp = "v=0\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n"
    describe = f"RTSP/1.0 200 OK\r\nCSeq: {{cseq}}\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"

    events = scripted(client, "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n", describe)

    assert events == [StreamUnsupported("no H.264 or H.265 video track (found JPEG)")]


def test_control_urls_resolve_against_the_content_base() -> None:
    assert control_url("rtsp://h/s/", "trackID=1") == "rtsp://h/s/trackID=1"
    assert control_url("rtsp://h/s", "trackID=1") == "rtsp://h/s/trackID=1"
    assert control_url("rtsp://h/s/", "*") == "rtsp://h/s/"
    assert control_url("rtsp://h/s/", "rtsp://o/t") == "rtsp://o/t"


def test_a_digest_challenge_is_preferred_to_basic() -> None:
    challenge = Challenge.parse('Digest realm="a, b", nonce="n", opaque="o"')

    assert challenge.param("realm") == "a, b"
    assert challenge.param("opaque") == "o"


def test_garbage_instead_of_an_answer_is_an_rtsp_error() -> None:
    client = RtspClient(URL)
    client.start(0.0)

    with pytest.raises(RtspError):
        client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n", 0.0)
    assert client.closed


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_arbitrary_bytes_give_events_or_an_rtsp_error(chunks: list[bytes]) -> None:
    client, _ = playing()
    try:
        for chunk in chunks:
            for event in client.receive_data(chunk, 1.0):
                assert isinstance(event, AccessUnit | RequestRefused)
    except RtspError:
        assert client.closed


def test_units_stay_whole_when_the_reader_reuses_its_buffer() -> None:
    client, _ = playing()
    nal_units = [b"\x65" + bytes(range(256)) * 12, b"\x41" + bytes(range(255, -1, -1)) * 9]
    stream, sequence = b"", 0
    for number, nal in enumerate(nal_units):
        payloads = packetize(VideoCodec.H264, [nal], 1000)
        for index, payload in enumerate(payloads):
            last = index == len(payloads) - 1
            stream += frame(0, sequence, 3600 * number, payload, marker=last)
            sequence += 1
    reused = bytearray(700)

    units: list[object] = []
    for start in range(0, len(stream), 700):
        chunk = stream[start : start + 700]
        reused[: len(chunk)] = chunk
        units += client.receive_data(memoryview(reused)[: len(chunk)], 1.0)
        reused[:] = bytes(700)  # the reader's next read overwrites it

    assert [u.nal_units() for u in units if isinstance(u, AccessUnit)] == [[n] for n in nal_units]
