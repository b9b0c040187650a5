"""The answering half shared by the RTSP server connections (RFC 2326 §7.1, §10.1, §10.8,
§12.17, §12.32, §12.37): every request checked, dispatched to its method, and answered, a
refusal with its status; OPTIONS and GET_PARAMETER its own; sessions touched and named."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtsp import RtspDecoder, RtspError, RtspRequest, RtspResponse
from safecity.protocols.rtsp.responder import Refusal, Reply, RequestRefused, Responder

URL = "rtsp://127.0.0.1:8554/cam/1"


@dataclass
class Session:
    id: str
    last_seen: float


@dataclass(frozen=True)
class Played:
    uri: str


Event = Played | RequestRefused


def play(request: RtspRequest, now: float) -> Reply[Event]:
    return (("Range", "npt=0.000-"),), b"", [Played(request.uri)]


def announce(request: RtspRequest, now: float) -> Reply[Event]:
    raise Refusal(455, "already published", (("Allow", "OPTIONS, PLAY"),))


def describe(request: RtspRequest, now: float) -> Reply[Event]:
    raise RtspError("not SDP", status=415)


def responder(sessions: dict[str, Session] | None = None) -> Responder[Session, Event]:
    return Responder(
        {} if sessions is None else sessions,
        {"DESCRIBE": describe, "ANNOUNCE": announce, "PLAY": play},
        session_timeout=30.0,
        server_name="test-server",
        reasons={200: "OK", 454: "Session Not Found", 455: "Not Now", 501: "Not Implemented"},
    )


def request(method: str, *headers: str, cseq: int | None = 1) -> bytes:
    lines = [f"{method} {URL} RTSP/1.0", *([f"CSeq: {cseq}"] if cseq is not None else [])]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def exchange(
    answering: Responder[Session, Event], data: bytes, now: float = 0.0
) -> tuple[RtspResponse, list[Event | RequestRefused]]:
    events = answering.receive(data, now, lambda _frame, _now: None)
    (response,) = RtspDecoder().feed(answering.data_to_send())
    assert isinstance(response, RtspResponse)
    return response, events


def test_a_handled_request_is_answered_200_with_cseq_server_and_the_handlers_headers() -> None:
    response, events = exchange(responder(), request("PLAY", cseq=7))

    assert (response.status, response.reason) == (200, "OK")
    assert response.headers[:2] == (("CSeq", "7"), ("Server", "test-server"))
    assert response.header("Range") == "npt=0.000-"
    assert events == [Played(URL)]


def test_options_lists_its_own_methods_around_the_connections_in_order() -> None:
    response, events = exchange(responder(), request("OPTIONS"))

    assert response.header("Public") == "OPTIONS, DESCRIBE, ANNOUNCE, PLAY, GET_PARAMETER"
    assert events == []


def test_an_unknown_method_is_501_with_the_same_list_in_allow() -> None:
    response, events = exchange(responder(), request("PAUSE"))

    assert (response.status, response.reason) == (501, "Not Implemented")
    assert response.header("Allow") == "OPTIONS, DESCRIBE, ANNOUNCE, PLAY, GET_PARAMETER"
    assert events == [RequestRefused(501, "method PAUSE")]


def test_a_refusal_is_answered_with_its_status_and_headers() -> None:
    response, events = exchange(responder(), request("ANNOUNCE"))

    assert (response.status, response.reason) == (455, "Not Now")
    assert response.header("Allow") == "OPTIONS, PLAY"
    assert events == [RequestRefused(455, "already published")]


def test_an_rtsp_error_from_a_handler_is_answered_with_its_status_and_a_generic_reason() -> None:
    response, events = exchange(responder(), request("DESCRIBE"))

    assert (response.status, response.reason) == (415, "Error")  # not in this reasons table
    assert events == [RequestRefused(415, "not SDP")]


def test_a_request_without_cseq_is_400_and_one_requiring_an_option_551() -> None:
    missing, refused = exchange(responder(), request("PLAY", cseq=None))
    required, unsupported = exchange(responder(), request("PLAY", "Require: funky"))

    assert missing.status == 400
    assert missing.header("CSeq") is None
    assert refused == [RequestRefused(400, "no CSeq")]
    assert required.status == 551
    assert required.header("Unsupported") == "funky"
    assert unsupported == [RequestRefused(551, "Require: funky")]


def test_get_parameter_refreshes_the_session_it_names_and_names_it_back() -> None:
    sessions = {"A1": Session("A1", last_seen=0.0)}
    answering = responder(sessions)

    response, _ = exchange(answering, request("GET_PARAMETER", "Session: A1"), now=12.5)
    unknown, events = exchange(answering, request("GET_PARAMETER", "Session: B2"), now=13.0)

    assert response.header("Session") == "A1;timeout=30"
    assert sessions["A1"].last_seen == 12.5
    assert unknown.status == 454
    assert events == [RequestRefused(454, "unknown session")]


def test_a_session_is_required_only_where_the_handler_says_so() -> None:
    answering = responder()
    unnamed = RtspRequest(method="PLAY", uri=URL, headers=(("CSeq", "1"),))

    assert answering.touch(unnamed, 0.0, required=False) is None
    with pytest.raises(Refusal) as refused:
        answering.touch(unnamed, 0.0, required=True)
    assert (refused.value.status, refused.value.detail) == (454, "PLAY without a Session")


def test_interleaved_frames_become_what_the_connection_makes_of_them() -> None:
    answering = responder()
    frame = b"$\x01\x00\x03abc"

    kept = answering.receive(frame, 0.0, lambda f, _now: Played(f"channel {f.channel}"))
    dropped = answering.receive(frame, 0.0, lambda _f, _now: None)

    assert kept == [Played("channel 1")]
    assert dropped == []
    assert answering.data_to_send() == b""


def test_an_unreadable_message_is_400_without_cseq() -> None:
    response, events = exchange(responder(), b"\x00\x01garbage\r\n\r\n")

    assert response.status == 400
    assert response.header("CSeq") is None
    assert [type(e) for e in events] == [RequestRefused]


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_events_never_an_exception(data: bytes) -> None:
    answering = responder()
    events = answering.receive(data, 0.0, lambda _f, _now: None)
    assert all(isinstance(event, Played | RequestRefused) for event in events)
