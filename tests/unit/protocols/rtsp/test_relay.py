"""The push ingest point's connection (RFC 2326 §10.3 ANNOUNCE, §10.11 RECORD, §12.39
mode=record), driven by what `ffmpeg -re -i X -c copy -f rtsp` really sent (tests/data/rtsp,
captured from FFmpeg 5.1 against a socket logger) and by readers of what it publishes."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import InterleavedFrame
from safecity.protocols.rtsp import RtspDecoder, RtspResponse, SessionDescription
from safecity.protocols.rtsp.publish import (
    EndReason,
    Event,
    MediaReceived,
    PathClaimed,
    PathReleased,
    PathStatus,
    ReadStarted,
    ReadStopped,
    RecordStarted,
    TrackPosition,
)
from safecity.protocols.rtsp.relay import RtspRelayConnection
from safecity.protocols.rtsp.responder import RequestRefused
from safecity.protocols.rtsp.server import TcpTarget, UdpTarget

DATA: Final = Path(__file__).parents[3] / "data" / "rtsp"
SEED: Final = 7


def replayed(name: str) -> bytes:
    """A capture with the first session id our server gives in place of the logger's."""
    session = f"{random.Random(SEED).getrandbits(64):016X}"
    data = (DATA / name).read_bytes()
    return data.replace(b"Session: 12345678", f"Session: {session}".encode())


TCP_CAPTURE: Final = replayed("ffmpeg_record_tcp.bin")  # 1 s of H.264 over TCP
UDP_CAPTURE: Final = replayed("ffmpeg_record_udp.bin")  # H.264 + AAC over UDP: RTSP only
URL: Final = "rtsp://127.0.0.1:8554/push/cam1"
SDP: Final = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    b"a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAC6w=,aO88sA==\r\n"
    b"a=control:streamid=0\r\n"
    b"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\na=control:streamid=1\r\n"
)


class Directory:
    """What the adapter keeps: the paths claimed and recording, from the events."""

    def __init__(self) -> None:
        self.paths: dict[str, PathStatus] = {}

    def __call__(self, path: str) -> PathStatus | None:
        return self.paths.get(path)

    def apply(self, events: list[Event]) -> list[Event]:
        for event in events:
            if isinstance(event, PathClaimed):
                self.paths[event.path] = PathStatus(event.sdp)
            elif isinstance(event, RecordStarted):
                sdp = self.paths[event.path].sdp
                self.paths[event.path] = PathStatus(
                    sdp, recording=True, positions=(None,) * len(sdp.media)
                )
            elif isinstance(event, PathReleased):
                self.paths.pop(event.path, None)
        return events


def connection(directory: Directory, timeout: float = 60.0) -> RtspRelayConnection:
    return RtspRelayConnection(
        directory,
        peer_host="127.0.0.1",
        rng=random.Random(SEED),
        server_ports=(6000, 6001),
        session_timeout=timeout,
    )


def request(method: str, uri: str, cseq: int, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(
    conn: RtspRelayConnection, directory: Directory, data: bytes, now: float = 0.0
) -> tuple[list[RtspResponse], list[Event]]:
    events = directory.apply(conn.receive_data(data, now))
    replies = RtspDecoder().feed(conn.data_to_send())
    responses = [reply for reply in replies if isinstance(reply, RtspResponse)]
    assert len(responses) == len(replies)
    return responses, events


def announce(sdp: bytes = SDP, content_type: str = "application/sdp") -> bytes:
    return request("ANNOUNCE", URL, 1, f"Content-Type: {content_type}", body=sdp)


def publish(directory: Directory, now: float = 0.0) -> tuple[RtspRelayConnection, str]:
    """A publisher recording both tracks of SDP over TCP; its session id."""
    conn = connection(directory)
    exchange(conn, directory, announce(), now)
    responses, _ = exchange(
        conn,
        directory,
        request(
            "SETUP", f"{URL}/streamid=0", 2, "Transport: RTP/AVP/TCP;interleaved=0-1;mode=record"
        )
        + request(
            "SETUP", f"{URL}/streamid=1", 3, "Transport: RTP/AVP/TCP;interleaved=2-3;mode=record"
        ),
        now,
    )
    session = str(responses[0].header("Session")).split(";")[0]
    exchange(conn, directory, request("RECORD", URL, 4, f"Session: {session}"), now)
    return conn, session


def test_ffmpegs_tcp_push_is_answered_and_its_packets_come_out_in_order() -> None:
    directory = Directory()
    conn = connection(directory)
    responses, events = exchange(conn, directory, TCP_CAPTURE)

    assert [r.status for r in responses] == [200] * 5  # OPTIONS ANNOUNCE SETUP RECORD TEARDOWN
    assert "ANNOUNCE" in str(responses[0].header("Public"))
    assert responses[2].header("Transport") == "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"
    session = str(responses[2].header("Session")).split(";")[0]
    assert isinstance(events[0], PathClaimed)
    assert events[0].path == "/push/cam1"
    assert events[1] == RecordStarted(session, "/push/cam1", ((0, TcpTarget(0, 1)),))
    media = [e for e in events if isinstance(e, MediaReceived)]
    assert [m.rtcp for m in media] == [True] + [False] * 13
    sequences = [int.from_bytes(m.data[2:4], "big") for m in media[1:]]
    assert sequences == [(sequences[0] + i) & 0xFFFF for i in range(13)]
    assert events[-1] == PathReleased("/push/cam1", EndReason.TEARDOWN)
    assert directory.paths == {}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, len(TCP_CAPTURE) - 1), max_size=30))
def test_the_tcp_push_gives_the_same_events_however_it_is_cut(cuts: list[int]) -> None:
    whole = connection(Directory()).receive_data(TCP_CAPTURE, 0.0)
    directory = Directory()
    conn = connection(directory)
    events: list[Event] = []
    bounds = [0, *sorted(set(cuts)), len(TCP_CAPTURE)]
    for low, high in itertools.pairwise(bounds):
        events += directory.apply(conn.receive_data(TCP_CAPTURE[low:high], 0.0))
    assert events == whole


def test_ffmpegs_udp_push_of_video_and_audio_sets_up_both_tracks_from_its_ports() -> None:
    directory = Directory()
    conn = connection(directory)
    responses, events = exchange(conn, directory, UDP_CAPTURE)

    assert [r.status for r in responses] == [200] * 6
    assert responses[2].header("Transport") == (
        "RTP/AVP/UDP;unicast;client_port=10660-10661;server_port=6000-6001;mode=record"
    )
    assert responses[3].header("Session") == responses[2].header("Session")
    started = next(e for e in events if isinstance(e, RecordStarted))
    assert started.tracks == (
        (0, UdpTarget("127.0.0.1", 10660, 10661)),
        (1, UdpTarget("127.0.0.1", 10662, 10663)),
    )
    assert events[-1] == PathReleased("/push/cam1", EndReason.TEARDOWN)


def test_a_second_publisher_on_a_claimed_path_gets_455_with_allow() -> None:
    directory = Directory()
    publish(directory)
    other = connection(directory)
    responses, events = exchange(other, directory, announce())
    assert responses[0].status == 455
    assert "ANNOUNCE" not in str(responses[0].header("Allow"))
    assert isinstance(events[0], RequestRefused)
    assert directory.paths["/push/cam1"].recording


def test_the_path_is_free_again_once_its_publisher_is_gone() -> None:
    directory = Directory()
    conn, _ = publish(directory)
    assert directory.apply(conn.connection_lost()) == [
        PathReleased("/push/cam1", EndReason.CONNECTION_LOST)
    ]
    responses, _ = exchange(connection(directory), directory, announce())
    assert responses[0].status == 200


def test_an_announcement_that_is_not_sdp_gets_415_and_a_broken_one_400() -> None:
    directory = Directory()
    conn = connection(directory)
    assert exchange(conn, directory, announce(content_type="text/plain"))[0][0].status == 415
    assert exchange(conn, directory, announce(b"x=1\r\n"))[0][0].status == 400
    assert exchange(conn, directory, announce(b"v=0\r\ns=-\r\n"))[0][0].status == 400
    assert exchange(conn, directory, announce(b"v=0\r\nm=video 0 udp 33\r\n"))[0][0].status == 400
    assert directory.paths == {}


def test_paths_outside_the_push_prefix_are_not_found() -> None:
    directory = Directory()
    conn = connection(directory)
    bad = request("ANNOUNCE", "rtsp://h/cam/1", 1, "Content-Type: application/sdp", body=SDP)
    nested = request("DESCRIBE", "rtsp://h/push/a/b", 2)
    responses, _ = exchange(conn, directory, bad + nested)
    assert [r.status for r in responses] == [404, 404]


def test_record_setup_before_announce_and_record_of_a_reader_are_refused_with_455() -> None:
    directory = Directory()
    conn = connection(directory)
    setup = request("SETUP", f"{URL}/streamid=0", 1, "Transport: RTP/AVP/TCP;mode=record")
    assert exchange(conn, directory, setup)[0][0].status == 455
    publish(directory)
    reader = connection(directory)
    responses, _ = exchange(
        reader, directory, request("SETUP", f"{URL}/trackID=0", 2, "Transport: RTP/AVP/TCP")
    )
    session = str(responses[0].header("Session")).split(";")[0]
    assert (
        exchange(reader, directory, request("RECORD", URL, 3, f"Session: {session}"))[0][0].status
        == 455
    )


def test_a_setup_for_a_control_the_announcement_lacks_is_not_found() -> None:
    directory = Directory()
    conn = connection(directory)
    exchange(conn, directory, announce())
    setup = request("SETUP", f"{URL}/streamid=9", 2, "Transport: RTP/AVP/TCP;mode=record")
    assert exchange(conn, directory, setup)[0][0].status == 404


def test_a_reader_describes_the_announced_stream_with_its_own_track_controls() -> None:
    directory = Directory()
    publish(directory)
    reader = connection(directory)
    responses, _ = exchange(reader, directory, request("DESCRIBE", URL, 1))
    assert responses[0].status == 200
    assert responses[0].header("Content-Base") == URL + "/"
    sdp = SessionDescription.parse(responses[0].body)
    assert sdp.attributes("control") == ["*"]
    assert [m.attributes("control") for m in sdp.media] == [["trackID=0"], ["trackID=1"]]
    assert sdp.media[0].attributes("fmtp") == [
        "96 packetization-mode=1; sprop-parameter-sets=Z2QAC6w=,aO88sA=="
    ]


def test_a_reader_before_the_publisher_records_is_not_found() -> None:
    directory = Directory()
    exchange(connection(directory), directory, announce())
    responses, _ = exchange(connection(directory), directory, request("DESCRIBE", URL, 1))
    assert responses[0].status == 404


def test_a_reader_plays_both_tracks_from_the_publishers_next_sequence_numbers() -> None:
    directory = Directory()
    publish(directory)
    status = directory.paths["/push/cam1"]
    directory.paths["/push/cam1"] = PathStatus(
        status.sdp, recording=True, positions=(TrackPosition(0xABCD, 65535, 900), None)
    )
    reader = connection(directory)
    responses, _ = exchange(
        reader,
        directory,
        request("SETUP", f"{URL}/trackID=0", 1, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1"),
    )
    session = str(responses[0].header("Session")).split(";")[0]
    second = request(
        "SETUP",
        f"{URL}/trackID=1",
        2,
        "Transport: RTP/AVP;unicast;client_port=5000-5001",
        f"Session: {session}",
    )
    responses, _ = exchange(reader, directory, second)
    assert responses[0].header("Transport") == (
        "RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001;mode=PLAY"
    )
    responses, events = exchange(
        reader, directory, request("PLAY", URL + "/", 3, f"Session: {session}")
    )
    assert responses[0].header("RTP-Info") == (
        f"url={URL}/trackID=0;seq=0;rtptime=900,url={URL}/trackID=1"
    )
    assert events == [
        ReadStarted(
            session,
            "/push/cam1",
            ((0, TcpTarget(0, 1)), (1, UdpTarget("127.0.0.1", 5000, 5001))),
        )
    ]


def test_readers_sessions_end_when_the_publisher_leaves() -> None:
    directory = Directory()
    publish(directory)
    reader = connection(directory)
    responses, _ = exchange(
        reader, directory, request("SETUP", f"{URL}/trackID=0", 1, "Transport: RTP/AVP/TCP")
    )
    session = str(responses[0].header("Session")).split(";")[0]
    assert reader.path_ended("/push/cam1") == [
        ReadStopped(session, "/push/cam1", EndReason.PUBLISHER_GONE)
    ]
    assert reader.sessions == {}
    assert reader.path_ended("/push/cam1") == []


def test_a_reader_on_an_unknown_track_is_not_found() -> None:
    directory = Directory()
    publish(directory)
    setup = request("SETUP", f"{URL}/trackID=2", 1, "Transport: RTP/AVP/TCP")
    assert exchange(connection(directory), directory, setup)[0][0].status == 404


def test_interleaved_packets_before_record_and_from_readers_are_not_media() -> None:
    directory = Directory()
    conn = connection(directory)
    exchange(conn, directory, announce())
    setup = request(
        "SETUP", f"{URL}/streamid=0", 2, "Transport: RTP/AVP/TCP;interleaved=0-1;mode=record"
    )
    responses, _ = exchange(conn, directory, setup)
    assert conn.receive_data(bytes(InterleavedFrame(0, b"\x80" * 12)), 0.0) == []
    session = str(responses[0].header("Session")).split(";")[0]
    exchange(conn, directory, request("RECORD", URL, 3, f"Session: {session}"))
    events = conn.receive_data(bytes(InterleavedFrame(0, b"\x80" * 12)), 0.0)
    assert events == [MediaReceived(session, "/push/cam1", 0, rtcp=False, data=b"\x80" * 12)]
    assert conn.receive_data(bytes(InterleavedFrame(7, b"x")), 0.0) == []


def test_a_udp_publisher_lapses_without_packets_and_keep_alive_defers_it() -> None:
    directory = Directory()
    conn = connection(directory, timeout=10.0)
    responses, _ = exchange(conn, directory, UDP_CAPTURE.split(b"TEARDOWN")[0])
    session = str(responses[2].header("Session")).split(";")[0]
    assert conn.next_deadline() == 10.0
    conn.keep_alive(session, 8.0)
    assert conn.handle_timeout(10.0) == []
    assert conn.next_deadline() == 18.0
    assert directory.apply(conn.handle_timeout(18.0)) == [
        PathReleased("/push/cam1", EndReason.TIMEOUT)
    ]
    assert directory.paths == {}
    assert conn.next_deadline() is None


def test_a_tcp_publisher_has_no_deadline() -> None:
    directory = Directory()
    conn, _ = publish(directory)
    assert conn.next_deadline() is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"", TCP_CAPTURE[:900], UDP_CAPTURE[:700]]))
def test_any_bytes_give_events_and_answers_never_an_exception(junk: bytes, prefix: bytes) -> None:
    directory = Directory()
    conn = connection(directory)
    events = directory.apply(conn.receive_data(prefix + junk, 0.0))
    events += conn.handle_timeout(1e9) + conn.connection_lost()
    assert all(isinstance(e, Event) for e in events)
    assert all(isinstance(r, RtspResponse) for r in RtspDecoder().feed(conn.data_to_send()))
