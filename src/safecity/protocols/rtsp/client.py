"""The client side of one RTSP/1.0 connection, RFC 2326 §10 (OPTIONS, DESCRIBE, SETUP, PLAY,
GET_PARAMETER, TEARDOWN), §12.37 (Session and its timeout), §C.1.1 (control URLs against the
Content-Base), pulling the first H.264 or H.265 video track of a URL.

Sans-IO: `start(now)` queues OPTIONS; `receive_data(data, now)` takes what the TCP connection
gave and returns events, queueing the next request for `data_to_send()`; `receive_datagram`
takes RTP that came over UDP; `handle_timeout(now)` after `next_deadline()` sends keep-alives
and reports a stream that stopped. The exchange runs OPTIONS, DESCRIBE, SETUP (TCP interleaved,
or UDP to the client ports given), PLAY; a 401 is answered once per challenge with Digest or
Basic (`auth`). While playing, `$` frames (§10.12) on the RTP channel go straight into an
`AccessUnitAssembler` without an object per packet, and RTSP responses between them (to our
keep-alives) are read as messages. Events: `StreamDescribed`, `PlaybackStarted`, an
`AccessUnit` per picture, and the terminal `RequestRefused`, `StreamUnsupported`,
`SessionTimedOut`. A reply that is not RTSP raises `RtspError` (the caller drops the link).
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Final

from safecity.protocols.rtp.access_unit import COMPILED, AccessUnit, AccessUnitAssembler
from safecity.protocols.rtsp.auth import UNAUTHORIZED, Challenge, Credentials, choose
from safecity.protocols.rtsp.client_events import (
    ClientEvent,
    PlaybackStarted,
    RequestRefused,
    SessionTimedOut,
    StreamDescribed,
    StreamUnsupported,
)
from safecity.protocols.rtsp.errors import RtspError
from safecity.protocols.rtsp.message import (
    RtspRequest,
    RtspResponse,
    build_message,
    parse_head,
)
from safecity.protocols.rtsp.sdp import SessionDescription
from safecity.protocols.rtsp.track import VideoTrack, video_track
from safecity.protocols.rtsp.transport import LowerTransport, TransportSpec, parse_transport_header

MAX_HEAD: Final = 8192
MAX_BODY: Final = 65536
DEFAULT_SESSION_TIMEOUT: Final = 60.0
KEEP_ALIVE_MIN_S: Final = 5.0
_BLANK: Final = b"\r\n\r\n"


class ClientState(StrEnum):
    INIT = "init"
    OPTIONS = "options"
    DESCRIBE = "describe"
    SETUP = "setup"
    PLAY = "play"
    PLAYING = "playing"
    CLOSED = "closed"


class RtspClient:
    """One RTSP session pulling one video track."""

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None = None,
        transport: LowerTransport = LowerTransport.TCP,
        client_ports: tuple[int, int] | None = None,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        user_agent: str = "safecity",
        rng: random.Random | None = None,
    ) -> None:
        if transport is LowerTransport.UDP and client_ports is None:
            raise ValueError("RTP over UDP needs the client's RTP and RTCP ports")
        self.url = url
        self.credentials = credentials
        self.transport = transport
        self.client_ports = client_ports
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.user_agent = user_agent
        self.rng = rng or random.Random()  # noqa: S311 - client nonces, not secrets
        self.state = ClientState.INIT
        self.track: VideoTrack | None = None
        self.assembler: AccessUnitAssembler | None = None
        self.session: str | None = None
        self.server_transport: TransportSpec | None = None
        self.public: frozenset[str] = frozenset()
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._cseq = 0
        self._pending: dict[str, RtspRequest] = {}
        self._challenge: Challenge | None = None
        self._answered: set[tuple[str, str]] = set()  # (method, nonce) already answered
        self._rtp_channel = -1
        self._session_timeout = DEFAULT_SESSION_TIMEOUT
        self._started = 0.0
        self._last_data = 0.0
        self._last_request = 0.0

    # -- the caller's side -------------------------------------------------------------------

    def start(self, now: float) -> None:
        self._started = self._last_data = now
        self.state = ClientState.OPTIONS
        self._send("OPTIONS", self.url, now)

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        return b"".join(out)

    @property
    def closed(self) -> bool:
        return self.state is ClientState.CLOSED

    def close(self, now: float) -> None:
        """Queue a TEARDOWN (when a session exists); the session is over either way."""
        if self.session is not None and self.state is not ClientState.CLOSED:
            self._send("TEARDOWN", self._aggregate_url(), now)
        self.state = ClientState.CLOSED

    def next_deadline(self) -> float | None:
        if self.state is ClientState.CLOSED or self.state is ClientState.INIT:
            return None
        if self.state is not ClientState.PLAYING:
            return self._started + self.open_timeout_s
        return min(self._last_data + self.read_timeout_s, self._keep_alive_due())

    def handle_timeout(self, now: float) -> list[ClientEvent]:
        if self.state is ClientState.CLOSED or self.state is ClientState.INIT:
            return []
        if self.state is not ClientState.PLAYING:
            if now >= self._started + self.open_timeout_s:
                return self._end(SessionTimedOut(f"no answer to {self.state.value.upper()}"))
            return []
        if now >= self._last_data + self.read_timeout_s:
            return self._end(SessionTimedOut(f"no data for {self.read_timeout_s:g} s"))
        if now >= self._keep_alive_due():
            method = "GET_PARAMETER" if "GET_PARAMETER" in self.public else "OPTIONS"
            self._send(method, self._aggregate_url(), now)
        return []

    def receive_datagram(self, data: bytes, now: float) -> list[AccessUnit]:
        """One UDP datagram that came to the client's RTP port (its own `bytes`: the open
        unit keeps slices of it, not copies)."""
        assembler = self.assembler
        if assembler is None or self.state is not ClientState.PLAYING:
            return []
        self._last_data = now
        if assembler.feed(memoryview(data)):
            return assembler.take()
        return []

    def receive_data(self, data: bytes | memoryview, now: float) -> list[ClientEvent]:
        """Bytes from the TCP connection, in any chunking. `data` may be the caller's reused
        buffer: nothing is kept of it after the call."""
        if self.state is ClientState.CLOSED:
            return []
        self._last_data = now
        buffer = self._buffer
        if buffer:
            buffer += data
        out: list[ClientEvent] = []
        try:
            with memoryview(buffer if buffer else data) as view:
                pos = self._frames(view, now, out)
                assembler = self.assembler
                if assembler is not None:
                    assembler.detach()  # a unit left open must not point into `view`
                if not buffer:
                    self._buffer = bytearray(view[pos:])  # usually nothing: a whole frame came
        except RtspError:
            self.state = ClientState.CLOSED
            raise
        if buffer:
            del buffer[:pos]
        return out

    def _frames(self, view: memoryview, now: float, out: list[ClientEvent]) -> int:
        """Read interleaved frames and messages off `view`; where the unread rest starts."""
        pos = 0
        size = len(view)
        channel = self._rtp_channel
        assembler = self.assembler
        if COMPILED and assembler is not None:
            pos, ready = assembler.feed_packets(view, pos, channel)
            if ready:
                out += assembler.take()
        while pos < size:
            octet = view[pos]
            if octet == 0x24:  # '$': an interleaved frame
                if size - pos < 4:
                    break
                end = pos + 4 + (view[pos + 2] << 8 | view[pos + 3])
                if end > size:
                    break
                if view[pos + 1] == channel and assembler is not None:
                    ready = assembler.feed(view, pos + 4, end)
                    if COMPILED:
                        end, ready = assembler.feed_packets(view, end, channel)
                    if ready:
                        out += assembler.take()
                pos = end
            elif octet in (0x0D, 0x0A):
                pos += 1
            else:
                taken = self._message(view, pos, now, out)
                if taken == pos or self.state is ClientState.CLOSED:
                    return taken
                pos = taken
                channel, assembler = self._rtp_channel, self.assembler
        return pos

    # -- messages ----------------------------------------------------------------------------

    def _message(self, view: memoryview, pos: int, now: float, out: list[ClientEvent]) -> int:
        head = bytes(view[pos : pos + MAX_HEAD + len(_BLANK)])
        blank = head.find(_BLANK)
        if blank < 0:
            if len(view) - pos > MAX_HEAD:
                raise RtspError(f"no end of headers within {MAX_HEAD} octets")
            return pos
        start, headers, length = parse_head(head[: blank + 2])
        if length > MAX_BODY:
            raise RtspError(f"a body of {length} octets")
        head_end = pos + blank + len(_BLANK)
        if len(view) < head_end + length:
            return pos
        message = build_message(start, headers, bytes(view[head_end : head_end + length]))
        if isinstance(message, RtspRequest):
            self._refuse(message)  # a server's own request (ANNOUNCE, SET_PARAMETER...)
        else:
            out += self._response(message, now)
        return head_end + length

    def _refuse(self, request: RtspRequest) -> None:
        headers = [("CSeq", request.cseq)] if request.cseq else []
        reply = RtspResponse(status=501, reason="Not Implemented", headers=tuple(headers))
        self._out.append(bytes(reply))

    def _response(self, response: RtspResponse, now: float) -> list[ClientEvent]:  # noqa: PLR0911 - one answer per method
        request = self._pending.pop(response.cseq or "", None)
        if request is None:
            return []  # an answer to nothing we asked (or to a keep-alive we forgot)
        method = request.method
        if response.status == UNAUTHORIZED and self._retry_with_credentials(response, request):
            self._send(method, request.uri, now, request.headers)
            return []
        if method in ("GET_PARAMETER", "OPTIONS") and self.state is ClientState.PLAYING:
            if response.status == 454:
                return self._end(RequestRefused(method, response.status, response.reason))
            return []
        if method == "OPTIONS" and response.status != UNAUTHORIZED:
            public = response.header("Public") or ""
            self.public = frozenset(m.strip().upper() for m in public.split(",") if m.strip())
            self.state = ClientState.DESCRIBE
            self._send("DESCRIBE", self.url, now, (("Accept", "application/sdp"),))
            return []
        if not 200 <= response.status < 300:
            return self._end(RequestRefused(method, response.status, response.reason))
        if method == "DESCRIBE":
            return self._described(response, now)
        if method == "SETUP":
            return self._set_up(response, now)
        if method == "PLAY":
            assert self.session is not None
            assert self.server_transport is not None
            self.state = ClientState.PLAYING
            self._last_data = now
            return [PlaybackStarted(self.session, self.server_transport)]
        return []

    def _described(self, response: RtspResponse, now: float) -> list[ClientEvent]:
        sdp = SessionDescription.parse(response.body)
        base = response.header("Content-Base") or response.header("Content-Location") or self.url
        try:
            track = video_track(sdp, base)
        except LookupError as exc:
            return self._end(StreamUnsupported(str(exc)))
        self.track = track
        self.assembler = AccessUnitAssembler(track.codec, track.payload_type)
        self.state = ClientState.SETUP
        if self.transport is LowerTransport.TCP:
            spec = TransportSpec(protocol="RTP/AVP/TCP", interleaved=(0, 1))
        else:
            spec = TransportSpec(protocol="RTP/AVP", client_port=self.client_ports)
        self._send("SETUP", track.control, now, (("Transport", str(spec)),))
        return [StreamDescribed(track)]

    def _set_up(self, response: RtspResponse, now: float) -> list[ClientEvent]:
        session = response.header("Session")
        header = response.header("Transport")
        if session is None or header is None:
            raise RtspError("a SETUP answer without Session or Transport")
        identifier, *params = (part.strip() for part in session.split(";"))
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "timeout" and value.strip().isdigit():
                self._session_timeout = max(KEEP_ALIVE_MIN_S, float(value))
        spec = parse_transport_header(header)[0]
        if spec.lower_transport is not self.transport:
            return self._end(RequestRefused("SETUP", 461, f"the server chose {spec.protocol}"))
        self.session = identifier
        self.server_transport = spec
        self._rtp_channel = spec.interleaved[0] if spec.interleaved is not None else 0
        self.state = ClientState.PLAY
        self._send("PLAY", self._aggregate_url(), now, (("Range", "npt=0.000-"),))
        return []

    def _retry_with_credentials(self, response: RtspResponse, request: RtspRequest) -> bool:
        """Whether to send `request` again, now with credentials for the server's challenge."""
        if self.credentials is None:
            return False
        values = [value for name, value in response.headers if name.lower() == "www-authenticate"]
        challenge = choose(Challenge.parse(value) for value in values)
        if challenge is None:
            return False
        key = (request.method, challenge.param("nonce") or challenge.scheme)
        stale = (challenge.param("stale") or "").lower() == "true"
        if key in self._answered and not stale:
            return False  # the same challenge again: the credentials are wrong
        self._answered.add(key)
        self._challenge = challenge
        return True

    def _send(
        self, method: str, uri: str, now: float, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._cseq += 1
        headers = [("CSeq", str(self._cseq)), ("User-Agent", self.user_agent)]
        if self.session is not None and method != "SETUP":
            headers.append(("Session", self.session))
        if self._challenge is not None and self.credentials is not None:
            answer = self.credentials.authorization(self._challenge, method, uri)
            headers.append(("Authorization", answer))
        keep = {"cseq", "user-agent", "session", "authorization"}
        headers += [(name, value) for name, value in extra if name.lower() not in keep]
        request = RtspRequest(method=method, uri=uri, headers=tuple(headers))
        self._pending[str(self._cseq)] = request
        self._out.append(bytes(request))
        self._last_request = now

    def _keep_alive_due(self) -> float:
        return self._last_request + max(KEEP_ALIVE_MIN_S, self._session_timeout / 2)

    def _aggregate_url(self) -> str:
        if self.track is not None and self.track.aggregate is not None:
            return self.track.aggregate
        return self.url

    def _end(self, event: ClientEvent) -> list[ClientEvent]:
        self.state = ClientState.CLOSED
        return [event]


__all__ = [
    "ClientEvent",
    "ClientState",
    "PlaybackStarted",
    "RequestRefused",
    "RtspClient",
    "SessionTimedOut",
    "StreamDescribed",
    "StreamUnsupported",
]
