"""The pure steps of the push ingest point: which announced stream a SETUP names (RFC 2326
§C.1.1), the description readers get, RTP-Info (§12.33) and the transport answer (§12.39)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtsp import SessionDescription, parse_transport_header
from safecity.protocols.rtsp.publish import (
    TrackPosition,
    TransportRefused,
    choose_transport,
    publisher_track,
    reader_description,
    reader_track,
    rtp_info,
)
from safecity.protocols.rtsp.server import TcpTarget, UdpTarget

HEAD = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nt=0 0\r\n"


def sdp(*controls: str | None) -> SessionDescription:
    text = HEAD + "a=control:rtsp://elsewhere/x\r\n"
    for index, control in enumerate(controls):
        text += f"m=video 0 RTP/AVP {96 + index}\r\na=rtpmap:{96 + index} H264/90000\r\n"
        if control is not None:
            text += f"a=control:{control}\r\n"
    return SessionDescription.parse(text.encode())


def test_a_setup_names_its_stream_by_a_relative_or_an_absolute_control() -> None:
    announced = sdp("streamid=0", "rtsp://10.0.0.9:554/push/cam1/audio")
    assert publisher_track(announced, "/push/cam1", "rtsp://h/push/cam1/streamid=0") == 0
    assert publisher_track(announced, "/push/cam1", "rtsp://h/push/cam1/audio") == 1
    assert publisher_track(announced, "/push/cam1", "rtsp://h/push/cam1/streamid=1") is None


def test_a_single_stream_without_a_control_is_set_up_at_the_path() -> None:
    assert publisher_track(sdp(None), "/push/cam1", "rtsp://h/push/cam1/") == 0
    assert publisher_track(sdp(None, None), "/push/cam1", "rtsp://h/push/cam1") is None


def test_a_readers_setup_path_is_cut_into_the_stream_and_its_track() -> None:
    assert reader_track("/push/cam1/trackID=1") == ("/push/cam1", 1)
    assert reader_track("/push/cam1") == ("/push/cam1", None)
    assert reader_track("/push/cam1/trackID=x") == ("/push/cam1/trackID=x", None)


@given(st.lists(st.sampled_from(["streamid=0", "rtsp://a/b", None, "*"]), min_size=1, max_size=4))
def test_readers_get_every_announced_line_with_only_the_controls_rewritten(
    controls: list[str | None],
) -> None:
    announced = sdp(*controls)
    served = SessionDescription.parse(reader_description(announced))
    assert served.attributes("control") == ["*"]
    assert [m.attributes("control") for m in served.media] == [
        [f"trackID={i}"] for i in range(len(controls))
    ]
    without = [line for line in announced.lines if not line[1].startswith("control:")]
    assert [line for line in served.lines if not line[1].startswith("control:")] == without
    for mine, theirs in zip(served.media, announced.media, strict=True):
        assert mine.media == theirs.media
        assert [line for line in mine.lines if "control:" not in line[1]] == [
            line for line in theirs.lines if "control:" not in line[1]
        ]
    assert SessionDescription.parse(bytes(served)) == served


def test_rtp_info_gives_the_next_sequence_number_wrapping_at_16_bits() -> None:
    positions = (TrackPosition(1, 65535, 4294967295), None)
    tracks = ((0, TcpTarget(0, 1)), (1, TcpTarget(2, 3)))
    assert rtp_info("rtsp://h/push/a", tracks, positions) == (
        "url=rtsp://h/push/a/trackID=0;seq=0;rtptime=4294967295,url=rtsp://h/push/a/trackID=1"
    )


def choose(header: str, used: set[int] | None = None) -> tuple[object, str]:
    target, answer = choose_transport(
        parse_transport_header(header),
        record=True,
        peer_host="10.0.0.5",
        server_ports=(6000, 6001),
        used_channels=used or set(),
    )
    return target, str(answer)


def test_a_publishers_transport_is_answered_with_mode_record() -> None:
    assert choose("RTP/AVP/TCP;unicast;interleaved=4-5;mode=record") == (
        TcpTarget(4, 5),
        "RTP/AVP/TCP;unicast;interleaved=4-5;mode=record",
    )
    assert choose("RTP/AVP;unicast;client_port=7000;mode=record") == (
        UdpTarget("10.0.0.5", 7000, 7001),
        "RTP/AVP;unicast;client_port=7000-7001;server_port=6000-6001;mode=record",
    )
    assert choose("RTP/AVP/TCP;unicast;mode=record", used={0, 1})[0] == TcpTarget(2, 3)


def test_taken_channels_multicast_and_redirection_fall_through_to_the_next_or_461() -> None:
    header = "RTP/AVP/TCP;interleaved=0-1,RTP/AVP;client_port=7000-7001"
    assert choose(header, used={1})[0] == UdpTarget("10.0.0.5", 7000, 7001)
    for refused in ("RTP/AVP;multicast", "RTP/AVP;destination=10.9.9.9;client_port=7000-7001"):
        with pytest.raises(TransportRefused) as caught:
            choose(refused)
        assert caught.value.status == 461
