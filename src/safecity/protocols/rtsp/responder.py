"""The answering half of a server-side RTSP/1.0 connection, shared by `server` (the simulated
cameras' streams) and `relay` (the push ingest point): what every request is checked for, the
dispatch to the connection's methods, and the response each gets. RFC 2326 §7.1 (status line
and reason), §12.17 (CSeq: 400 without one), §12.32 (Require: 551 with Unsupported), §10.1
(OPTIONS: Public), §10.8 (GET_PARAMETER, the keep-alive), §12.37 (Session and its timeout;
454 for an unknown one), §11.3.8 (501 with Allow for a method not served).

Sans-IO: `receive(data, now, interleaved)` gives back events for every request, interleaved
frame or unreadable message `data` completes, and queues the responses for `data_to_send()`.
A method handler takes the request and `now` and gives `(headers, body, events)` for a 200, or
raises `Refusal` (status, detail, extra headers) or `RtspError`; a refused request is
answered with its status and comes out as `RequestRefused`. OPTIONS and GET_PARAMETER are the
responder's own; the connection's sessions (anything with an `id` and a `last_seen`) are
lent to it for `touch` and the Session header.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from safecity.protocols.rtp.interleaved import InterleavedFrame
from safecity.protocols.rtsp.errors import RtspError
from safecity.protocols.rtsp.framing import RtspDecoder
from safecity.protocols.rtsp.message import Headers, RtspRequest, RtspResponse

REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    413: "Request Entity Too Large",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    501: "Not Implemented",
    505: "RTSP Version Not Supported",
    551: "Option not supported",
}


@dataclass(frozen=True)
class RequestRefused:
    """A request answered with an error status, or a message we could not read."""

    status: int
    detail: str


class Refusal(Exception):
    """A method handler's answer other than 200: `status`, with `headers` (Allow, ...)."""

    def __init__(self, status: int, detail: str, headers: Headers = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class TimedSession(Protocol):
    id: str
    last_seen: float


S = TypeVar("S", bound=TimedSession)
E = TypeVar("E")
Reply = tuple[Headers, bytes, list[E]]
Handler = Callable[[RtspRequest, float], Reply[E]]


class Responder(Generic[S, E]):
    """Answers one connection's requests with `methods` (besides OPTIONS, listed first in
    Public and Allow, and GET_PARAMETER, listed last) over the connection's `sessions`."""

    def __init__(
        self,
        sessions: Mapping[str, S],
        methods: Mapping[str, Handler[E]],
        *,
        session_timeout: float,
        server_name: str,
        reasons: Mapping[int, str] = REASONS,
    ) -> None:
        self.sessions = sessions
        self.session_timeout = session_timeout
        self.server_name = server_name
        self.reasons = reasons
        self.decoder = RtspDecoder()
        self.methods: dict[str, Handler[E]] = {
            "OPTIONS": self._options,
            **methods,
            "GET_PARAMETER": self._get_parameter,
        }
        self._out = bytearray()

    @property
    def should_close(self) -> bool:
        """Framing is lost: send what is queued, then close the connection."""
        return self.decoder.failed

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def receive(
        self,
        data: bytes,
        now: float,
        interleaved: Callable[[InterleavedFrame, float], E | None],
    ) -> list[E | RequestRefused]:
        """Events for every request, frame (what `interleaved` makes of it) or error `data`
        completes; never raises. A response (to nothing we asked) is ignored."""
        events: list[E | RequestRefused] = []
        for item in self.decoder.feed(data):
            if isinstance(item, InterleavedFrame):
                if (event := interleaved(item, now)) is not None:
                    events.append(event)
            elif isinstance(item, RtspError):
                self.respond(item.status, None)
                events.append(RequestRefused(item.status, item.message))
            elif isinstance(item, RtspRequest):
                events += self._request(item, now)
        return events

    def respond(
        self, status: int, cseq: str | None, headers: Headers = (), body: bytes = b""
    ) -> None:
        first: Headers = (("CSeq", cseq),) if cseq is not None else ()
        response = RtspResponse(
            status=status,
            reason=self.reasons.get(status, "Error"),
            headers=(*first, ("Server", self.server_name), *headers),
            body=body,
        )
        self._out += bytes(response)

    def touch(self, request: RtspRequest, now: float, *, required: bool) -> S | None:
        """The request's session, refreshed; 454 if it names an unknown one or none when
        `required`."""
        header = request.header("Session")
        if header is None:
            if required:
                raise Refusal(454, f"{request.method} without a Session")
            return None
        session = self.sessions.get(header.split(";", 1)[0].strip())
        if session is None:
            raise Refusal(454, "unknown session")
        session.last_seen = now
        return session

    def session_header(self, session: S | None) -> Headers:
        if session is None:
            return ()
        return (("Session", f"{session.id};timeout={round(self.session_timeout)}"),)

    def _request(self, request: RtspRequest, now: float) -> list[E | RequestRefused]:
        cseq = request.cseq
        if cseq is None:
            self.respond(400, None)
            return [RequestRefused(400, "no CSeq")]
        if (required := request.header("Require")) is not None:
            self.respond(551, cseq, (("Unsupported", required),))
            return [RequestRefused(551, f"Require: {required}")]
        handler = self.methods.get(request.method)
        if handler is None:
            self.respond(501, cseq, (("Allow", ", ".join(self.methods)),))
            return [RequestRefused(501, f"method {request.method}")]
        try:
            headers, body, events = handler(request, now)
        except Refusal as refusal:
            self.respond(refusal.status, cseq, refusal.headers)
            return [RequestRefused(refusal.status, refusal.detail)]
        except RtspError as exc:
            self.respond(exc.status, cseq)
            return [RequestRefused(exc.status, exc.message)]
        self.respond(200, cseq, headers, body)
        return list(events)

    def _options(self, request: RtspRequest, now: float) -> Reply[E]:
        self.touch(request, now, required=False)
        return (("Public", ", ".join(self.methods)),), b"", []

    def _get_parameter(self, request: RtspRequest, now: float) -> Reply[E]:
        return self.session_header(self.touch(request, now, required=False)), b"", []
