"""The asyncio side of one server-side RTSP/1.0 TCP connection, shared by the push ingest point
(`push_server`, over `protocols.rtsp.relay.RtspRelayConnection`) and the camera simulator
(`sim.cameras`, over `protocols.rtsp.server.RtspServerConnection`): bytes in go to the sans-IO
connection with the loop's time, its replies go out, its events go to `dispatch`, and its
session timeouts are checked when the server asks (`check_timeouts`). The server keeps the
open connections in the set it passes in.

A subclass says how to make the sans-IO connection for a peer (`open`) and what to do with each
event (`dispatch`); the two servers differ only there.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, Protocol, TypeVar, cast

E_ = TypeVar("E_")


class SansIoRtsp(Protocol[E_]):
    """What the connection needs of a sans-IO RTSP server connection."""

    @property
    def should_close(self) -> bool: ...

    def receive_data(self, data: bytes, now: float) -> list[E_]: ...

    def data_to_send(self) -> bytes: ...

    def keep_alive(self, session: str, now: float) -> None: ...

    def next_deadline(self) -> float | None: ...

    def handle_timeout(self, now: float) -> list[E_]: ...

    def connection_lost(self) -> list[E_]: ...


E = TypeVar("E")
C = TypeVar("C", bound=SansIoRtsp[Any])


class RtspTcpConnection(asyncio.Protocol, Generic[C, E]):
    """One TCP connection: bytes to and from its sans-IO connection (`rtsp`)."""

    def __init__(self, connections: set[Any]) -> None:
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.rtsp: C | None = None
        self.peer = ""

    def open(self, peer_host: str) -> C:
        """The sans-IO connection for a peer at `peer_host`."""
        raise NotImplementedError

    def dispatch(self, event: E) -> None:
        """What the server does with one of the connection's events."""
        raise NotImplementedError

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the API without subclassing asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        self.rtsp = self.open(self.peer)
        self.connections.add(self)

    def data_received(self, data: bytes) -> None:
        assert self.rtsp is not None
        self._handle(self.rtsp.receive_data(data, asyncio.get_running_loop().time()))
        if self.rtsp.should_close:
            self.close()

    def keep_alive(self, session: str) -> None:
        """The peer showed it is alive out of band (RTP or RTCP over UDP from its address)."""
        if self.rtsp is not None:
            self.rtsp.keep_alive(session, asyncio.get_running_loop().time())

    def check_timeouts(self, now: float) -> None:
        if self.rtsp is not None:
            deadline = self.rtsp.next_deadline()
            if deadline is not None and deadline <= now:
                self._handle(self.rtsp.handle_timeout(now))

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - EOF or error alike
        if self.rtsp is not None:
            self._handle(self.rtsp.connection_lost())
        self.connections.discard(self)
        self.transport = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _handle(self, events: list[E]) -> None:
        assert self.rtsp is not None
        if self.transport is not None and (reply := self.rtsp.data_to_send()):
            self.transport.write(reply)
        for event in events:
            self.dispatch(event)
