"""The server side of one RTSP/1.0 connection, RFC 2326 §10 (methods), §12.37 (Session and its
timeout), §12.33 (RTP-Info), §A.1 (server state machine: Init, Ready, Playing), for live
streams of one video track each.

Sans-IO: `receive_data(data, now)` gives back events and queues responses for
`data_to_send()` (the checks, dispatch and replies every request gets are `responder`'s);
`handle_timeout(now)` expires sessions after `next_deadline()`. The adapter
does what the events say: `PlayStarted` means send RTP on the TCP channel or to the UDP
address it names, starting with the sequence number and RTP time it gives (also announced in
RTP-Info); `PlayStopped` means stop. RTP never passes through here; RTCP from the client on an
interleaved channel comes out as `RtcpReceived` (and keeps its session alive).

Supported: OPTIONS, DESCRIBE, SETUP (UDP unicast to the client's own address, or TCP
interleaved), PLAY, TEARDOWN, GET_PARAMETER (keep-alive). PAUSE, RECORD, ANNOUNCE and the rest
get 501, multicast 461. A UDP session lapses after `session_timeout` seconds without a request
or RTCP (`keep_alive`); an interleaved one lives as long as its connection. Destinations other
than the connection's own peer are refused (RFC 2326 §15.1: no traffic redirection).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from safecity.protocols.rtp.interleaved import InterleavedFrame
from safecity.protocols.rtsp.message import Headers, RtspRequest
from safecity.protocols.rtsp.responder import Refusal, Reply, RequestRefused, Responder
from safecity.protocols.rtsp.sdp import TRACK_CONTROL
from safecity.protocols.rtsp.transport import (
    LowerTransport,
    TransportSpec,
    parse_transport_header,
)


@dataclass(frozen=True)
class StreamOffer:
    """What the adapter serves at a path: its session description."""

    sdp: bytes


@dataclass(frozen=True)
class UdpTarget:
    host: str
    rtp_port: int
    rtcp_port: int


@dataclass(frozen=True)
class TcpTarget:
    rtp_channel: int
    rtcp_channel: int


@dataclass(frozen=True)
class PlayStarted:
    """Start sending RTP of `path` to `target`: first packet `sequence`, media time `rtp_time`."""

    session: str
    path: str
    target: UdpTarget | TcpTarget
    ssrc: int
    sequence: int
    rtp_time: int


class StopReason(StrEnum):
    TEARDOWN = "teardown"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"


@dataclass(frozen=True)
class PlayStopped:
    """Stop sending for `session` (it was set up, maybe playing) and forget it."""

    session: str
    reason: StopReason


@dataclass(frozen=True)
class RtcpReceived:
    """RTCP from the client on an interleaved channel; `session` is None on an unknown one."""

    session: str | None
    data: bytes


Event = PlayStarted | PlayStopped | RtcpReceived | RequestRefused
_Reply = Reply[Event]


@dataclass
class _Session:
    id: str
    path: str
    control: str  # the URI the client set up, for RTP-Info
    target: UdpTarget | TcpTarget
    ssrc: int
    sequence: int
    rtp_time: int
    last_seen: float
    playing: bool = False


class RtspServerConnection:
    """One client connection; several sessions may share it."""

    def __init__(
        self,
        streams: Callable[[str], StreamOffer | None],
        *,
        peer_host: str,
        rng: random.Random,
        server_ports: tuple[int, int] | None = None,
        session_timeout: float = 60.0,
        server_name: str = "safecity",
    ) -> None:
        self.streams = streams
        self.peer_host = peer_host
        self.rng = rng
        self.server_ports = server_ports  # our UDP RTP and RTCP ports; None: TCP only
        self.session_timeout = session_timeout
        self.server_name = server_name
        self.sessions: dict[str, _Session] = {}
        self.responder: Responder[_Session, Event] = Responder(
            self.sessions,
            {
                "DESCRIBE": self._describe,
                "SETUP": self._setup,
                "PLAY": self._play,
                "TEARDOWN": self._teardown,
            },
            session_timeout=session_timeout,
            server_name=server_name,
        )
        self.decoder = self.responder.decoder

    @property
    def should_close(self) -> bool:
        """Framing is lost: send what is queued, then close the connection."""
        return self.responder.should_close

    def data_to_send(self) -> bytes:
        return self.responder.data_to_send()

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Events for every request, frame or error `data` completes; never raises."""
        return self.responder.receive(data, now, self._interleaved)

    def keep_alive(self, session: str, now: float) -> None:
        """The client showed it is alive out of band (UDP RTCP from its address)."""
        if (found := self.sessions.get(session)) is not None:
            found.last_seen = now

    def next_deadline(self) -> float | None:
        times = [
            s.last_seen + self.session_timeout
            for s in self.sessions.values()
            if isinstance(s.target, UdpTarget)
        ]
        return min(times, default=None)

    def handle_timeout(self, now: float) -> list[Event]:
        lapsed = [
            s.id
            for s in self.sessions.values()
            if isinstance(s.target, UdpTarget) and s.last_seen + self.session_timeout <= now
        ]
        return [self._end(session, StopReason.TIMEOUT) for session in lapsed]

    def connection_lost(self) -> list[Event]:
        return [self._end(session, StopReason.CONNECTION_LOST) for session in list(self.sessions)]

    def _end(self, session: str, reason: StopReason) -> PlayStopped:
        del self.sessions[session]
        return PlayStopped(session, reason)

    def _interleaved(self, frame: InterleavedFrame, now: float) -> RtcpReceived:
        for session in self.sessions.values():
            target = session.target
            if isinstance(target, TcpTarget) and frame.channel in (
                target.rtp_channel,
                target.rtcp_channel,
            ):
                session.last_seen = now
                return RtcpReceived(session.id, frame.data)
        return RtcpReceived(None, frame.data)

    # -- methods: each gives (headers, body, events) or raises Refusal

    def _describe(self, request: RtspRequest, now: float) -> _Reply:  # noqa: ARG002
        path = _stream_path(request.uri)
        offer = self.streams(path)
        if offer is None:
            raise Refusal(404, f"no stream at {path}")
        base = request.uri if request.uri.endswith("/") else request.uri + "/"
        headers: Headers = (("Content-Base", base), ("Content-Type", "application/sdp"))
        return headers, offer.sdp, []

    def _setup(self, request: RtspRequest, now: float) -> _Reply:
        path = _stream_path(request.uri)
        if self.streams(path) is None:
            raise Refusal(404, f"no stream at {path}")
        transport_header = request.header("Transport")
        if transport_header is None:
            raise Refusal(461, "no Transport header")
        offered = parse_transport_header(transport_header)  # RtspError: answered with its status
        existing = self.responder.touch(request, now, required=False)
        if existing is not None and existing.path != path:
            raise Refusal(459, "one stream per session")
        if existing is not None and existing.playing:
            raise Refusal(455, "SETUP while playing")
        target, answer = self._choose(offered, existing)
        if existing is None:
            session_id = f"{self.rng.getrandbits(64):016X}"
            session = _Session(
                id=session_id,
                path=path,
                control=request.uri,
                target=target,
                ssrc=self.rng.getrandbits(32),
                sequence=self.rng.getrandbits(16),
                rtp_time=self.rng.getrandbits(32),
                last_seen=now,
            )
            self.sessions[session_id] = session
        else:
            session = existing
            session.target, session.control = target, request.uri
        answer = replace(answer, ssrc=session.ssrc)
        headers = (("Transport", str(answer)), *self.responder.session_header(session))
        return headers, b"", []

    def _choose(
        self, offered: tuple[TransportSpec, ...], existing: _Session | None
    ) -> tuple[UdpTarget | TcpTarget, TransportSpec]:
        for spec in offered:
            if not spec.protocol.upper().startswith("RTP/AVP") or not spec.unicast:
                continue
            if spec.lower_transport is LowerTransport.TCP:
                channels = spec.interleaved or self._free_channels(existing)
                target: UdpTarget | TcpTarget = TcpTarget(channels[0], channels[1])
                answer = TransportSpec(protocol="RTP/AVP/TCP", interleaved=channels, mode="PLAY")
                return target, answer
            if spec.client_port is None or self.server_ports is None:
                continue
            if spec.destination is not None and spec.destination != self.peer_host:
                continue
            low, high = spec.client_port
            rtcp = high if high != low else low + 1
            answer = TransportSpec(
                protocol=spec.protocol,
                client_port=(low, rtcp),
                server_port=self.server_ports,
                mode="PLAY",
            )
            return UdpTarget(self.peer_host, low, rtcp), answer
        raise Refusal(461, "no unicast RTP/AVP transport over UDP or TCP that we serve")

    def _free_channels(self, existing: _Session | None) -> tuple[int, int]:
        used = {
            channel
            for s in self.sessions.values()
            if isinstance(s.target, TcpTarget) and s is not existing
            for channel in (s.target.rtp_channel, s.target.rtcp_channel)
        }
        low = next(c for c in range(0, 256, 2) if c not in used and c + 1 not in used)
        return low, low + 1

    def _play(self, request: RtspRequest, now: float) -> _Reply:
        session = self.responder.touch(request, now, required=True)
        assert session is not None
        headers: Headers = (*self.responder.session_header(session), ("Range", "npt=0.000-"))
        if session.playing:
            return headers, b"", []
        session.playing = True
        info = f"url={session.control};seq={session.sequence};rtptime={session.rtp_time}"
        started = PlayStarted(
            session.id,
            session.path,
            session.target,
            session.ssrc,
            session.sequence,
            session.rtp_time,
        )
        return (*headers, ("RTP-Info", info)), b"", [started]

    def _teardown(self, request: RtspRequest, now: float) -> _Reply:
        session = self.responder.touch(request, now, required=True)
        assert session is not None
        return (), b"", [self._end(session.id, StopReason.TEARDOWN)]


def _stream_path(uri: str) -> str:
    """The stream a request URI names: its path without a trailing `/` or track control."""
    try:
        path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]
    except ValueError as exc:  # an unreadable authority, such as an unclosed [IPv6
        raise Refusal(400, f"request URI {uri[:60]!r}") from exc
    path = path.rstrip("/")
    if path.endswith("/" + TRACK_CONTROL):
        path = path[: -len(TRACK_CONTROL) - 1]
    return path or "/"
