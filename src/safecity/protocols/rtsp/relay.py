"""The server side of one connection to a push ingest point, RFC 2326: publishers ANNOUNCE
(§10.3), SETUP with `mode=record` (§12.39) and RECORD (§10.11) a path; readers DESCRIBE, SETUP
and PLAY it (§10.2, §10.4, §10.5), as many as like, while it is recording. See `publish` for
the events and the steps for each side.

Sans-IO like `server.RtspServerConnection`, and answering through the same `responder`:
`receive_data(data, now)` gives back events and queues responses for `data_to_send()`;
`handle_timeout(now)` expires UDP sessions after `next_deadline()`. Which paths are claimed
and recording is shared between connections, so it comes from the adapter through `paths`;
the adapter must act on `PathClaimed` before it feeds another connection, which its single
event loop does. Interleaved RTP and RTCP of a recording session come out as `MediaReceived`;
RTP over UDP never passes through here (the adapter calls `keep_alive` for it).

A second publisher on a claimed path gets 455 Method Not Valid in This State (§11.3.6: the
resource cannot process the request in its current state, with an Allow header): the path is
fine and the method is known, only the path's state (being recorded) forbids ANNOUNCE; 453 Not
Enough Bandwidth would blame a resource that is not short. Paths are `<prefix><name>`, one
segment; others are 404. A UDP session lapses after `session_timeout` seconds without a
request, RTCP or (publisher) RTP; an interleaved one lives as long as its connection.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from safecity.protocols.rtp.interleaved import InterleavedFrame
from safecity.protocols.rtsp.message import Headers, RtspRequest
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
    Target,
    announced_description,
    choose_transport,
    publisher_track,
    reader_description,
    reader_track,
    request_path,
    rtp_info,
)
from safecity.protocols.rtsp.responder import REASONS, Refusal, Reply, Responder
from safecity.protocols.rtsp.sdp import SessionDescription
from safecity.protocols.rtsp.server import TcpTarget, UdpTarget
from safecity.protocols.rtsp.transport import parse_transport_header

READ_METHODS: Final = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "GET_PARAMETER")
_REASONS: Final = {**REASONS, 415: "Unsupported Media Type"}
_NAME: Final = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_Reply = Reply[Event]


class Role(StrEnum):
    PUBLISH = "publish"
    READ = "read"


@dataclass
class _Session:
    id: str
    path: str
    role: Role
    last_seen: float
    tracks: dict[int, Target] = field(default_factory=dict)
    active: bool = False  # recording or playing

    @property
    def over_udp(self) -> bool:
        return any(isinstance(target, UdpTarget) for target in self.tracks.values())


class RtspRelayConnection:
    """One connection, publisher or reader (or both); several sessions may share it."""

    def __init__(
        self,
        paths: Callable[[str], PathStatus | None],
        *,
        peer_host: str,
        rng: random.Random,
        server_ports: tuple[int, int] | None = None,
        session_timeout: float = 60.0,
        server_name: str = "safecity",
        prefix: str = "/push/",
    ) -> None:
        self.paths = paths
        self.peer_host = peer_host
        self.rng = rng
        self.server_ports = server_ports  # our UDP RTP and RTCP ports; None: TCP only
        self.session_timeout = session_timeout
        self.server_name = server_name
        self.prefix = prefix
        self.sessions: dict[str, _Session] = {}
        self.claims: dict[str, SessionDescription] = {}  # paths this connection announced
        self._channels: dict[int, tuple[_Session, int, bool]] = {}  # channel: session, track, rtcp
        self.responder: Responder[_Session, Event] = Responder(
            self.sessions,
            {
                "DESCRIBE": self._describe,
                "ANNOUNCE": self._announce,
                "SETUP": self._setup,
                "PLAY": self._play,
                "RECORD": self._record,
                "TEARDOWN": self._teardown,
            },
            session_timeout=session_timeout,
            server_name=server_name,
            reasons=_REASONS,
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
        """The peer showed it is alive out of band (RTP or RTCP over UDP from its address)."""
        if (found := self.sessions.get(session)) is not None:
            found.last_seen = now

    def next_deadline(self) -> float | None:
        times = [s.last_seen + self.session_timeout for s in self.sessions.values() if s.over_udp]
        return min(times, default=None)

    def handle_timeout(self, now: float) -> list[Event]:
        lapsed = [
            s
            for s in self.sessions.values()
            if s.over_udp and s.last_seen + self.session_timeout <= now
        ]
        return [event for s in lapsed for event in self._end(s, EndReason.TIMEOUT)]

    def connection_lost(self) -> list[Event]:
        events = [
            event
            for session in list(self.sessions.values())
            for event in self._end(session, EndReason.CONNECTION_LOST)
        ]
        events += [PathReleased(path, EndReason.CONNECTION_LOST) for path in self.claims]
        self.claims.clear()
        return events

    def path_ended(self, path: str) -> list[Event]:
        """The publisher of `path` left: end this connection's reading sessions of it."""
        ending = [s for s in self.sessions.values() if s.role is Role.READ and s.path == path]
        return [event for s in ending for event in self._end(s, EndReason.PUBLISHER_GONE)]

    def _end(self, session: _Session, reason: EndReason) -> list[Event]:
        del self.sessions[session.id]
        for channel in [c for c, (s, _, _) in self._channels.items() if s is session]:
            del self._channels[channel]
        if session.role is Role.READ:
            return [ReadStopped(session.id, session.path, reason)]
        self.claims.pop(session.path, None)
        return [PathReleased(session.path, reason)]

    def _interleaved(self, frame: InterleavedFrame, now: float) -> MediaReceived | None:
        found = self._channels.get(frame.channel)
        if found is None:
            return None
        session, track, rtcp = found
        session.last_seen = now
        if session.role is Role.READ or not session.active:
            return None  # a reader's RTCP, or packets before RECORD
        return MediaReceived(session.id, session.path, track, rtcp, frame.data)

    # -- methods: each gives (headers, body, events) or raises Refusal / RtspError

    def _announce(self, request: RtspRequest, now: float) -> _Reply:  # noqa: ARG002
        path = self._stream_path(request.uri)
        sdp = announced_description(request.header("Content-Type"), request.body)
        mine = path in self.claims
        if (not mine and self.paths(path) is not None) or any(
            s.path == path and s.role is Role.PUBLISH for s in self.sessions.values()
        ):
            allow = (("Allow", ", ".join(READ_METHODS)),)
            raise Refusal(455, f"{path} already has a publisher", allow)
        self.claims[path] = sdp
        return (), b"", [PathClaimed(path, sdp)]

    def _describe(self, request: RtspRequest, now: float) -> _Reply:  # noqa: ARG002
        path = self._stream_path(request.uri)
        status = self._recording(path)
        base = request.uri.rstrip("/") + "/"
        headers: Headers = (("Content-Base", base), ("Content-Type", "application/sdp"))
        return headers, reader_description(status.sdp), []

    def _setup(self, request: RtspRequest, now: float) -> _Reply:
        transport_header = request.header("Transport")
        if transport_header is None:
            raise Refusal(461, "no Transport header")
        offered = parse_transport_header(transport_header)
        record = any((spec.mode or "").strip('"').upper() == "RECORD" for spec in offered)
        existing = self.responder.touch(request, now, required=False)
        role = Role.PUBLISH if record else Role.READ
        path, track = self._publisher_track(request.uri) if record else self._reader_track(request)
        if existing is None and any(
            s.path == path and s.role is Role.PUBLISH is role for s in self.sessions.values()
        ):
            raise Refusal(455, "a second SETUP of this path needs its Session")
        if existing is not None and (existing.path != path or existing.role is not role):
            raise Refusal(459, "one path, one direction per session")
        if existing is not None and existing.active:
            raise Refusal(455, "SETUP while playing or recording")
        session = existing or self._new_session(path, role, now)
        if (old := session.tracks.pop(track, None)) is not None:
            self._forget_channels(old)
        target, answer = choose_transport(
            offered,
            record=record,
            peer_host=self.peer_host,
            server_ports=self.server_ports,
            used_channels=self._channels.keys(),
        )
        session.tracks[track] = target
        if isinstance(target, TcpTarget):
            self._channels[target.rtp_channel] = (session, track, False)
            self._channels[target.rtcp_channel] = (session, track, True)
        return (("Transport", str(answer)), *self.responder.session_header(session)), b"", []

    def _new_session(self, path: str, role: Role, now: float) -> _Session:
        session = _Session(f"{self.rng.getrandbits(64):016X}", path, role, now)
        self.sessions[session.id] = session
        return session

    def _publisher_track(self, uri: str) -> tuple[str, int]:
        wanted = request_path(uri)
        for path, sdp in self.claims.items():
            if wanted == path or wanted.startswith(path + "/"):
                track = publisher_track(sdp, path, uri)
                if track is None:
                    raise Refusal(404, f"{wanted} is no stream of the announcement")
                return path, track
        raise Refusal(455, "SETUP to record before ANNOUNCE")

    def _reader_track(self, request: RtspRequest) -> tuple[str, int]:
        path, track = reader_track(request_path(request.uri))
        path = self._stream_path(path)
        status = self._recording(path)
        if track is None and len(status.sdp.media) == 1:
            track = 0
        if track is None or track >= len(status.sdp.media):
            raise Refusal(404, f"no such track of {path}")
        return path, track

    def _forget_channels(self, target: Target) -> None:
        if isinstance(target, TcpTarget):
            self._channels.pop(target.rtp_channel, None)
            self._channels.pop(target.rtcp_channel, None)

    def _play(self, request: RtspRequest, now: float) -> _Reply:
        session = self._active(request, now, Role.READ)
        headers: Headers = (*self.responder.session_header(session), ("Range", "npt=0.000-"))
        status = self._recording(session.path)
        tracks = tuple(sorted(session.tracks.items()))
        base, _ = reader_track(request.uri.rstrip("/"))
        headers = (*headers, ("RTP-Info", rtp_info(base, tracks, status.positions)))
        if session.active:
            return headers, b"", []
        session.active = True
        return headers, b"", [ReadStarted(session.id, session.path, tracks)]

    def _record(self, request: RtspRequest, now: float) -> _Reply:
        session = self._active(request, now, Role.PUBLISH)
        headers = self.responder.session_header(session)
        if session.active:
            return headers, b"", []
        session.active = True
        tracks = tuple(sorted(session.tracks.items()))
        return headers, b"", [RecordStarted(session.id, session.path, tracks)]

    def _active(self, request: RtspRequest, now: float, role: Role) -> _Session:
        """The session PLAY or RECORD names, if it was set up in that direction."""
        session = self.responder.touch(request, now, required=True)
        assert session is not None
        if session.role is not role:
            raise Refusal(455, f"{request.method} of a session set up to {session.role}")
        return session

    def _teardown(self, request: RtspRequest, now: float) -> _Reply:
        session = self.responder.touch(request, now, required=True)
        assert session is not None
        return (), b"", self._end(session, EndReason.TEARDOWN)

    def _stream_path(self, uri: str) -> str:
        path = request_path(uri)
        name = path.removeprefix(self.prefix)
        if name == path or not _NAME.fullmatch(name):
            raise Refusal(404, f"{path[:60]} is not {self.prefix}<name>")
        return path

    def _recording(self, path: str) -> PathStatus:
        status = self.paths(path)
        if status is None or not status.recording:
            raise Refusal(404, f"nothing is recording at {path}")
        return status
