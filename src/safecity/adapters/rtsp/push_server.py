"""The push ingest point: an RTSP server that publishers (`ffmpeg -re -i X -c copy -f rtsp
rtsp://host:port/push/cam1`) record into and readers (the recorder, ffprobe, a player) play
from, every packet relayed as it came, like a small mediamtx. One TCP port for RTSP and RTP
interleaved, one even/odd UDP port pair (RFC 3550 §11) for RTP and RTCP of every UDP session.

Each connection runs `protocols.rtsp.relay.RtspRelayConnection`; this module keeps the shared
state (which connection publishes which path, who reads it) and moves packets. A publisher's
RTP and RTCP go unchanged to every reader of the path on the track it set up: interleaved on
the reader's channels, or from our UDP ports to its client ports (`rtp_sender`). A reader
joining mid-stream gets the announced description (H.264/H.265 parameter sets are in its
sprop attributes) and RTP-Info with the next sequence number and the last RTP time relayed.
When the publisher leaves (TEARDOWN, connection lost, UDP timeout) each reader's connection is
closed, so a recorder sees the stream end, records a gap and reconnects. A TCP reader that
lets more than `HIGH_WATER` octets pile up unsent is too slow for live video and is
disconnected the same way.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Final

import structlog

from safecity.adapters.rtsp.connection import RtspTcpConnection
from safecity.adapters.rtsp.rtp_sender import Address, RtpSender
from safecity.protocols.rtsp.publish import (
    Event,
    MediaReceived,
    PathClaimed,
    PathReleased,
    PathStatus,
    ReadStarted,
    ReadStopped,
    RecordStarted,
    Target,
    TrackPosition,
)
from safecity.protocols.rtsp.relay import RtspRelayConnection
from safecity.protocols.rtsp.sdp import SessionDescription
from safecity.protocols.rtsp.server import TcpTarget, UdpTarget

_log = structlog.get_logger(__name__)

HIGH_WATER: Final = 4 << 20
TIMEOUT_CHECK_S: Final = 1.0
_RTP_HEADER: Final = 12


@dataclass(frozen=True)
class PushOptions:
    host: str = "127.0.0.1"
    port: int = 8554  # 0: a free one (see `PushServer.port`)
    udp: bool = True  # offer RTP over UDP (else TCP interleaved only)
    session_timeout_s: float = 60.0


@dataclass
class PushStats:
    publishers: int = 0  # paths that started recording
    readers: int = 0  # PLAYs
    packets_in: int = 0
    packets_out: int = 0
    slow_readers: int = 0


@dataclass(eq=False)
class _Path:
    sdp: SessionDescription
    owner: _Connection
    recording: bool = False
    positions: list[TrackPosition | None] = field(default_factory=list)
    readers: dict[tuple[_Connection, str], tuple[tuple[int, Target], ...]] = field(
        default_factory=dict
    )


class PushServer:
    """`await server.serve()` listens until cancelled; `listening` is set once bound."""

    def __init__(
        self, options: PushOptions | None = None, rng: random.Random | None = None
    ) -> None:
        self.options = options or PushOptions()
        self.rng = rng or random.SystemRandom()
        self.stats = PushStats()
        self.listening = asyncio.Event()
        self.paths: dict[str, _Path] = {}
        self.connections: set[_Connection] = set()
        self.sender = RtpSender(self.datagram)
        self._server: asyncio.Server | None = None
        # UDP source address: a publisher's (path, track, rtcp, session), or a reader's session
        self._publishers: dict[Address, tuple[str, int, bool, str]] = {}
        self._readers: dict[Address, tuple[_Connection, str]] = {}

    @property
    def server_ports(self) -> tuple[int, int] | None:
        """Our UDP RTP and RTCP ports (None: TCP only)."""
        return self.sender.ports

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, name: str) -> str:
        host = self.options.host
        return f"rtsp://{f'[{host}]' if ':' in host else host}:{self.port}/push/{name}"

    async def serve(self) -> None:
        """Listen until cancelled, then close every connection."""
        await self.start()
        try:
            while True:
                await asyncio.sleep(TIMEOUT_CHECK_S)
                now = asyncio.get_running_loop().time()
                for connection in list(self.connections):
                    connection.check_timeouts(now)
        finally:
            await asyncio.shield(self.close())

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.options.udp:
            await self.sender.open(self.options.host)
        self._server = await loop.create_server(
            lambda: _Connection(self), self.options.host, self.options.port
        )
        self.listening.set()
        _log.info("push.listening", port=self.port, udp_ports=self.server_ports)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        self.sender.close()
        if self._server is not None:
            await self._server.wait_closed()

    # -- what the connections see of the shared state

    def status(self, path: str) -> PathStatus | None:
        found = self.paths.get(path)
        if found is None:
            return None
        return PathStatus(found.sdp, recording=found.recording, positions=tuple(found.positions))

    def handle(self, connection: _Connection, event: Event) -> None:
        if isinstance(event, MediaReceived):
            self.relay(event.path, event.track, event.data, rtcp=event.rtcp)
        elif isinstance(event, PathClaimed):
            self.paths[event.path] = _Path(event.sdp, connection)
        elif isinstance(event, RecordStarted):
            self._record(event)
        elif isinstance(event, PathReleased):
            self._release(event)
        elif isinstance(event, ReadStarted):
            self._read(connection, event)
        elif isinstance(event, ReadStopped):
            self._unread(connection, event.session, event.path)
        else:
            _log.debug("push.refused", status=event.status, detail=event.detail)

    def _record(self, event: RecordStarted) -> None:
        path = self.paths[event.path]
        path.recording = True
        path.positions = [None] * len(path.sdp.media)
        for track, target in event.tracks:
            if isinstance(target, UdpTarget):
                rtp, rtcp = (target.host, target.rtp_port), (target.host, target.rtcp_port)
                self._publishers[rtp] = (event.path, track, False, event.session)
                self._publishers[rtcp] = (event.path, track, True, event.session)
        self.stats.publishers += 1
        _log.info("push.recording", path=event.path, tracks=len(event.tracks))

    def _release(self, event: PathReleased) -> None:
        path = self.paths.pop(event.path, None)
        if path is None:
            return
        for address in [a for a, (p, *_) in self._publishers.items() if p == event.path]:
            del self._publishers[address]
        for connection, _ in list(path.readers):
            if connection.rtsp is not None:
                for stopped in connection.rtsp.path_ended(event.path):
                    self.handle(connection, stopped)
            connection.close()
        _log.info("push.publisher_left", path=event.path, reason=event.reason)

    def _read(self, connection: _Connection, event: ReadStarted) -> None:
        path = self.paths[event.path]
        path.readers[(connection, event.session)] = event.tracks
        for _, target in event.tracks:
            if isinstance(target, UdpTarget):
                for port in (target.rtp_port, target.rtcp_port):
                    self._readers[(target.host, port)] = (connection, event.session)
        self.stats.readers += 1

    def _unread(self, connection: _Connection, session: str, name: str) -> None:
        path = self.paths.get(name)
        tracks = path.readers.pop((connection, session), ()) if path is not None else ()
        for _, target in tracks:
            if isinstance(target, UdpTarget):
                for port in (target.rtp_port, target.rtcp_port):
                    self._readers.pop((target.host, port), None)

    # -- packets

    def relay(self, name: str, track: int, data: bytes, *, rtcp: bool) -> None:
        """One packet of a publisher's track to every reader of it."""
        path = self.paths.get(name)
        if path is None or not path.recording:
            return
        self.stats.packets_in += 1
        if not rtcp and len(data) >= _RTP_HEADER and data[0] >> 6 == 2:
            path.positions[track] = TrackPosition(
                ssrc=int.from_bytes(data[8:12], "big"),
                sequence=int.from_bytes(data[2:4], "big"),
                rtp_time=int.from_bytes(data[4:8], "big"),
            )
        slow: list[_Connection] = []
        for (connection, _), tracks in path.readers.items():
            for index, target in tracks:
                if index != track:
                    continue
                if isinstance(target, TcpTarget):
                    transport = connection.transport
                    backlog = RtpSender.backlog(transport)
                    if transport is None or backlog is None:
                        continue
                    if backlog > HIGH_WATER:
                        slow.append(connection)
                        continue
                    channel = target.rtcp_channel if rtcp else target.rtp_channel
                    RtpSender.to_tcp(transport, channel, data)
                else:
                    self.sender.to_udp(target, (data,), rtcp=rtcp)
                self.stats.packets_out += 1
        for connection in slow:
            self.stats.slow_readers += 1
            _log.warning("push.slow_reader", path=name, peer=connection.peer)
            connection.close()

    def datagram(self, data: bytes, address: Address) -> None:
        """RTP or RTCP on our UDP ports: a publisher's packet (which it is follows from the
        port it came from), or a reader's RTCP."""
        if (publisher := self._publishers.get(address)) is not None:
            name, track, from_rtcp_port, session = publisher
            path = self.paths.get(name)
            if path is not None:
                path.owner.keep_alive(session)
            self.relay(name, track, data, rtcp=from_rtcp_port)
        elif (reader := self._readers.get(address)) is not None:
            connection, session = reader
            connection.keep_alive(session)


class _Connection(RtspTcpConnection[RtspRelayConnection, Event]):
    """One TCP connection: bytes to and from its `RtspRelayConnection`."""

    def __init__(self, server: PushServer) -> None:
        super().__init__(server.connections)
        self.server = server

    def open(self, peer_host: str) -> RtspRelayConnection:
        server = self.server
        return RtspRelayConnection(
            server.status,
            peer_host=peer_host,
            rng=random.Random(server.rng.getrandbits(64)),  # noqa: S311 - session ids, not keys
            server_ports=server.server_ports,
            session_timeout=server.options.session_timeout_s,
        )

    def dispatch(self, event: Event) -> None:
        self.server.handle(self, event)
