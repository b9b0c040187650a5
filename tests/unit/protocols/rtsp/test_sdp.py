"""Session descriptions (RFC 8866) for H.264 (RFC 6184 §8) and H.265 (RFC 7798 §7) video."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtp import ParameterSets, VideoCodec
from safecity.protocols.rtsp import (
    MediaDescription,
    RtspError,
    SessionDescription,
    parse_format_parameters,
    video_session,
)

SPS = bytes.fromhex("6742801696540601bd350606064000000300400000066101")
PPS = bytes.fromhex("68ce3520")


def test_h264_track_has_mode_1_profile_and_parameter_sets() -> None:
    sdp = video_session(
        codec=VideoCodec.H264,
        payload_type=96,
        parameter_sets=ParameterSets(sps=(SPS,), pps=(PPS,)),
        session_id=7,
        address="127.0.0.1",
    )
    (media,) = sdp.media
    assert media.media == "video 0 RTP/AVP 96"
    assert media.attributes("rtpmap") == ["96 H264/90000"]
    assert media.attributes("control") == ["trackID=0"]
    assert sdp.attributes("control") == ["*"]
    payload_type, _, params = media.attributes("fmtp")[0].partition(" ")
    fmtp = parse_format_parameters(params)
    assert payload_type == "96"
    assert fmtp["packetization-mode"] == "1"
    assert fmtp["profile-level-id"] == "428016"
    sps, pps = fmtp["sprop-parameter-sets"].split(",")
    assert (base64.b64decode(sps), base64.b64decode(pps)) == (SPS, PPS)
    assert ("o", "- 7 1 IN IP4 127.0.0.1") in sdp.lines


def test_h265_track_has_sprop_vps_sps_pps() -> None:
    sdp = video_session(
        codec=VideoCodec.H265,
        payload_type=98,
        parameter_sets=ParameterSets(sps=(b"\x42\x01s",), pps=(b"\x44\x01p",), vps=(b"\x40\x01v",)),
        session_id=1,
    )
    (media,) = sdp.media
    assert media.attributes("rtpmap") == ["98 H265/90000"]
    fmtp = parse_format_parameters(media.attributes("fmtp")[0].partition(" ")[2])
    assert base64.b64decode(fmtp["sprop-vps"]) == b"\x40\x01v"
    assert base64.b64decode(fmtp["sprop-sps"]) == b"\x42\x01s"
    assert base64.b64decode(fmtp["sprop-pps"]) == b"\x44\x01p"


def test_static_payload_type_is_refused() -> None:
    with pytest.raises(ValueError, match="dynamic"):
        video_session(
            codec=VideoCodec.H264, payload_type=26, parameter_sets=ParameterSets(), session_id=1
        )


@pytest.mark.parametrize("data", [b"", b"s=no version\r\n", b"v=0\r\nnonsense\r\n", b"\xff"])
def test_malformed_descriptions_are_refused(data: bytes) -> None:
    with pytest.raises(RtspError):
        SessionDescription.parse(data)


value = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=30
)
kind = st.sampled_from("ovscbtaik")
lines = st.lists(st.tuples(kind, value), max_size=6).map(tuple)
descriptions = st.builds(
    SessionDescription,
    lines.map(lambda ls: (("v", "0"), *ls)),
    st.lists(st.builds(MediaDescription, value.filter(bool), lines), max_size=3).map(tuple),
)


@given(descriptions)
def test_parse_of_bytes_is_the_description(description: SessionDescription) -> None:
    assert SessionDescription.parse(bytes(description)) == description
