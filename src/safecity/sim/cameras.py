"""Simulated RTSP cameras: one asyncio server, one port, N live streams `/cam/1` ... `/cam/N`
of the same clip, RTSP/1.0 (RFC 2326) with RTP over TCP interleaved or UDP unicast.

The clip is loaded and packetised once (`camera_source`, `camera_packets`). Every PLAY starts
its session at the clip's first keyframe and loops it for ever with continuous RTP timestamps
(90 kHz, the clip's period added each loop) and sequence numbers, from the random SSRC,
sequence and RTP time its RTSP session chose. One scheduler task paces every session: it wakes
at most every `TICK_S`, and each session due within the tick gets its due frames, stamped from
the template (`stamp`) and written at once (TCP: one write per frame; UDP: one datagram per
packet from our RTP port, `adapters.rtsp.rtp_sender`, as the push ingest point sends). RTCP
from clients (UDP or interleaved) only keeps sessions alive.

A TCP client that reads slower than we send stalls its own stream: once its write buffer holds
more than `HIGH_WATER` octets we skip frames until it has drained and a keyframe comes round.
If the whole loop falls more than `MAX_LAG_S` behind (the process was stopped), sessions jump
ahead instead of bursting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

import structlog

from safecity.adapters.rtsp.connection import RtspTcpConnection
from safecity.adapters.rtsp.rtp_sender import Address, RtpSender
from safecity.protocols.rtsp import (
    PlayStarted,
    PlayStopped,
    RtspServerConnection,
    StreamOffer,
    TcpTarget,
    UdpTarget,
)
from safecity.protocols.rtsp.sdp import CLOCK_RATE
from safecity.protocols.rtsp.server import Event
from safecity.sim.camera_packets import FrameTemplate, PacketisedClip, datagrams, stamp

_log = structlog.get_logger(__name__)

TICK_S: Final = 0.01
IDLE_S: Final = 0.05
MAX_LAG_S: Final = 2.0
HIGH_WATER: Final = 1 << 21
TIMEOUT_CHECK_S: Final = 1.0


@dataclass
class CameraStats:
    sessions_started: int = 0
    udp_sessions_started: int = 0  # of those, RTP over UDP (the rest: TCP interleaved)
    sessions_active: int = 0
    frames_sent: int = 0
    packets_sent: int = 0
    bytes_sent: int = 0
    frames_skipped: int = 0


@dataclass(eq=False)
class _Playback:
    """One PLAYing session's position in the clip."""

    session: str
    connection: _RtspConnection
    target: TcpTarget | UdpTarget
    ssrc: int
    sequence: int
    rtp_time: int
    started: float  # loop time of the first frame of loop 0
    frame: int = 0  # next frame index
    loop: int = 0
    due: float = 0.0
    stopped: bool = False
    waiting_for_keyframe: bool = False


class CameraServer:
    """`async with CameraServer(clip, count=N) as server:` serves until the block ends."""

    def __init__(
        self,
        clip: PacketisedClip,
        *,
        count: int,
        host: str = "127.0.0.1",
        port: int = 8554,
        udp: bool = True,
        session_timeout: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("at least one camera")
        self.clip = clip
        self.count = count
        self.host = host
        self.requested_port = port
        self.udp = udp
        self.session_timeout = session_timeout
        self.rng = rng or random.Random()  # noqa: S311 - SSRCs and session ids of a simulator
        self.stats = CameraStats()
        self.port = port
        self.connections: set[_RtspConnection] = set()
        self._sdp = clip.sdp(session_id=self.rng.getrandbits(32), address=host)
        self._paths = {f"/cam/{i}" for i in range(1, count + 1)}
        self._server: asyncio.Server | None = None
        self._sender = RtpSender(self._datagram)
        self._udp_peers: dict[tuple[str, int], tuple[_RtspConnection, str]] = {}
        self._heap: list[tuple[float, int, _Playback]] = []
        self._playbacks: dict[tuple[_RtspConnection, str], _Playback] = {}
        self._order = itertools.count()
        self._scheduler: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def server_ports(self) -> tuple[int, int] | None:
        """Our UDP RTP and RTCP ports (None: TCP only, or not started)."""
        return self._sender.ports

    @property
    def urls(self) -> list[str]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return [f"rtsp://{host}:{self.port}/cam/{i}" for i in range(1, self.count + 1)]

    def offer(self, path: str) -> StreamOffer | None:
        return StreamOffer(self._sdp) if path in self._paths else None

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        if self.udp:
            await self._sender.open(self.host)
        self._server = await loop.create_server(
            lambda: _RtspConnection(self), self.host, self.requested_port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._scheduler = asyncio.create_task(self._schedule(), name="camera-scheduler")
        _log.info("cameras_serving", count=self.count, port=self.port, udp_ports=self.server_ports)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        self._sender.close()
        if self._server is not None:
            await self._server.wait_closed()

    # -- sessions

    def start(self, connection: _RtspConnection, event: PlayStarted) -> None:
        now = asyncio.get_running_loop().time()
        playback = _Playback(
            event.session,
            connection,
            event.target,
            event.ssrc,
            event.sequence,
            event.rtp_time,
            started=now,
            due=now,
        )
        self._playbacks[(connection, event.session)] = playback
        if isinstance(event.target, UdpTarget):
            self.stats.udp_sessions_started += 1
            for port in (event.target.rtp_port, event.target.rtcp_port):
                self._udp_peers[(event.target.host, port)] = (connection, event.session)
        heapq.heappush(self._heap, (now, next(self._order), playback))
        self.stats.sessions_started += 1
        self.stats.sessions_active += 1
        self._wake.set()

    def stop(self, connection: _RtspConnection, session: str) -> None:
        playback = self._playbacks.pop((connection, session), None)
        if playback is None:
            return
        playback.stopped = True
        self.stats.sessions_active -= 1
        if isinstance(playback.target, UdpTarget):
            for port in (playback.target.rtp_port, playback.target.rtcp_port):
                self._udp_peers.pop((playback.target.host, port), None)

    def _datagram(self, _data: bytes, address: Address) -> None:
        """What clients send to our UDP ports (RTCP, NAT punches) keeps their session alive."""
        found = self._udp_peers.get(address)
        if found is not None:
            connection, session = found
            connection.keep_alive(session)

    # -- the one scheduler

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        next_timeout_check = loop.time()
        heap = self._heap
        while True:
            now = loop.time()
            horizon = now + TICK_S
            while heap and heap[0][0] <= horizon:
                _, _, playback = heapq.heappop(heap)
                if playback.stopped:
                    continue
                self._send_due(playback, now, horizon)
                if not playback.stopped:
                    heapq.heappush(heap, (playback.due, next(self._order), playback))
            if now >= next_timeout_check:
                next_timeout_check = now + TIMEOUT_CHECK_S
                for connection in list(self.connections):
                    connection.check_timeouts(now)
            pause = min(heap[0][0] - loop.time(), IDLE_S) if heap else IDLE_S
            self._wake.clear()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()

    def _send_due(self, playback: _Playback, now: float, horizon: float) -> None:
        clip = self.clip
        frames = clip.frames
        period = clip.period
        if now - playback.due > MAX_LAG_S:  # we were stopped: skip ahead, no burst
            playback.started += now - playback.due
            playback.due = now
        while playback.due <= horizon and not playback.stopped:
            frame = frames[playback.frame]
            self._send(playback, frame, playback.rtp_time + playback.loop * period)
            playback.frame += 1
            if playback.frame == len(frames):
                playback.frame = 0
                playback.loop += 1
            ticks = playback.loop * period + frames[playback.frame].send_at
            playback.due = playback.started + ticks / CLOCK_RATE

    def _send(self, playback: _Playback, frame: FrameTemplate, base: int) -> None:
        target = playback.target
        transport = playback.connection.transport
        if isinstance(target, TcpTarget):
            backlog = RtpSender.backlog(transport)
            if backlog is None:
                return
            if backlog > HIGH_WATER:
                playback.waiting_for_keyframe = True
            if playback.waiting_for_keyframe:
                if not frame.keyframe or backlog > HIGH_WATER // 4:
                    self.stats.frames_skipped += 1
                    return
                playback.waiting_for_keyframe = False
        buffer = stamp(
            frame,
            channel=target.rtp_channel if isinstance(target, TcpTarget) else 0,
            sequence=playback.sequence,
            timestamp=base + frame.rtp_offset,
            ssrc=playback.ssrc,
        )
        playback.sequence = (playback.sequence + frame.packets) & 0xFFFF
        if isinstance(target, TcpTarget):
            assert transport is not None
            transport.write(buffer)
            self.stats.bytes_sent += len(buffer)
        elif self._sender.ports is not None:
            self._sender.to_udp(target, datagrams(frame, buffer))
            self.stats.bytes_sent += len(buffer) - 4 * frame.packets
        self.stats.frames_sent += 1
        self.stats.packets_sent += frame.packets


class _RtspConnection(RtspTcpConnection[RtspServerConnection, Event]):
    """One client's TCP connection: bytes to and from its `RtspServerConnection`."""

    def __init__(self, server: CameraServer) -> None:
        super().__init__(server.connections)
        self.server = server

    def open(self, peer_host: str) -> RtspServerConnection:
        server = self.server
        return RtspServerConnection(
            server.offer,
            peer_host=peer_host,
            rng=random.Random(server.rng.getrandbits(64)),  # noqa: S311 - simulator ids
            server_ports=server.server_ports,
            session_timeout=server.session_timeout,
            server_name="safecity-sim-camera",
        )

    def dispatch(self, event: Event) -> None:
        if isinstance(event, PlayStarted):
            self.server.start(self, event)
        elif isinstance(event, PlayStopped):
            self.server.stop(self, event.session)
        else:
            _log.debug("rtsp_event", event=event)
