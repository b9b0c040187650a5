"""SIA DC-09 listeners on TCP and UDP: bytes in, `Dc09Receiver` events out, ACK after storing.

Every connection (and every UDP datagram) gets its own `Dc09Receiver`. A message is handed to the
`SignalSink`; only when the sink calls back that the row is committed is the ACK written. If it
reports `StoreUnavailable` nothing is written, so the panel retransmits later and the alarm is
not lost. Rejected frames get the receiver's reply (DUH, NAK, or nothing for a broken frame) and
a rate-limited warning naming the peer, the account and the reason.

A connection that sends faster than the store commits is paused (`pause_reading`) once it has
`max_in_flight` messages waiting, so one flooding peer cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, cast

import structlog

from safecity.adapters.dc09.accounts import RateLimitedWarning
from safecity.core.clock import Clock
from safecity.core.errors import StoreUnavailable
from safecity.protocols.dc09 import (
    AccountKey,
    Dc09Message,
    Dc09Receiver,
    FrameRejected,
    MessageReceived,
    RejectReason,
)

_log = structlog.get_logger(__name__)


class SignalSink(Protocol):
    def submit(
        self,
        message: Dc09Message,
        *,
        received_at: datetime,
        transport: str,
        peer: str,
        done: Callable[[StoreUnavailable | None], None],
    ) -> None:
        """Store `message`; then call `done(None)`, or `done(error)` if it was not stored."""
        ...


@dataclass(frozen=True)
class ListenOptions:
    host: str = "0.0.0.0"  # noqa: S104 (panels connect from the whole network)
    tcp_port: int | None = 7000
    udp_port: int | None = 7000
    window_past: timedelta = timedelta(seconds=40)
    window_future: timedelta = timedelta(seconds=20)
    max_in_flight: int = 64


@dataclass
class ReceiverStats:
    messages: int = 0
    acked: int = 0
    unstored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class Dc09Server:
    """Owns the listening sockets; see the module docstring."""

    def __init__(
        self,
        sink: SignalSink,
        accounts: Callable[[str], AccountKey | None],
        clock: Clock,
        options: ListenOptions | None = None,
    ) -> None:
        self.sink = sink
        self.accounts = accounts
        self.clock = clock
        self.options = options or ListenOptions()
        self.stats = ReceiverStats()
        self.rng = random.SystemRandom()
        self.warn_unknown = RateLimitedWarning("dc09.unknown_account")
        self.warn_rejected = RateLimitedWarning("dc09.frame_rejected")
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self.connections: set[_TcpConnection] = set()
        self.listening = asyncio.Event()

    def receiver(self) -> Dc09Receiver:
        return Dc09Receiver(
            self.accounts,
            window_past=self.options.window_past,
            window_future=self.options.window_future,
            rng=self.rng,
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        opts = self.options
        if opts.tcp_port is not None:
            self._tcp = await loop.create_server(
                lambda: _TcpConnection(self), opts.host, opts.tcp_port, backlog=4096
            )
        if opts.udp_port is not None:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpEndpoint(self), local_addr=(opts.host, opts.udp_port)
            )
        self.listening.set()

    @property
    def tcp_address(self) -> tuple[str, int] | None:
        if self._tcp is None:
            return None
        host, port = self._tcp.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def udp_address(self) -> tuple[str, int] | None:
        if self._udp is None:
            return None
        host, port = self._udp.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def close(self) -> None:
        if self._tcp is not None:
            self._tcp.close()
            for connection in list(self.connections):
                connection.abort()
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            await self._tcp.wait_closed()

    async def serve(self) -> None:
        """Start, then listen until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.shield(self.close())

    def store_then_ack(
        self,
        receiver: Dc09Receiver,
        event: MessageReceived,
        transport: str,
        peer: str,
        send: Callable[[bytes], None],
        finished: Callable[[], None] | None = None,
    ) -> None:
        """Store the message; `send` its ACK once it is committed, nothing if it was not.
        No task per message: the sink calls back when the group commit is done."""
        self.stats.messages += 1

        def done(error: StoreUnavailable | None) -> None:
            try:
                if error is not None:
                    self.stats.unstored += 1
                    _log.warning(
                        "dc09.not_stored",
                        account=event.message.account,
                        peer=peer,
                        error=str(error),
                    )
                else:
                    self.stats.acked += 1
                    send(receiver.ack(event, self.clock.now()))
            finally:
                if finished is not None:
                    finished()

        self.sink.submit(
            event.message,
            received_at=self.clock.now(),
            transport=transport,
            peer=peer,
            done=done,
        )

    def rejected(self, event: FrameRejected, peer: str) -> None:
        self.stats.rejected[event.reason] += 1
        if event.reason is RejectReason.UNKNOWN_ACCOUNT:
            self.warn_unknown(event.account or "?", peer=peer)
            return
        self.warn_rejected(
            f"{event.reason}:{peer.rsplit(':', 1)[0]}",
            reason=str(event.reason),
            detail=event.detail[:200],
            account=event.account,
            peer=peer,
            replied=event.reply is not None,
        )


class _TcpConnection(asyncio.Protocol):
    def __init__(self, server: Dc09Server) -> None:
        self.server = server
        self.receiver = server.receiver()
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.in_flight = 0
        self.paused = False
        self.tail: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the API without subclassing asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 (asyncio API)
        self.server.connections.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        for event in self.receiver.receive_data(data, self.server.clock.now()):
            if isinstance(event, MessageReceived):
                self.in_flight += 1
                if self.in_flight >= self.server.options.max_in_flight and not self.paused:
                    self.paused = True
                    self._transport().pause_reading()
                self.server.store_then_ack(
                    self.receiver, event, "tcp", self.peer, self._write, self._settled
                )
            else:
                self.server.rejected(event, self.peer)
                if event.reply is not None:
                    self._write(event.reply)

    def _settled(self) -> None:
        self.in_flight -= 1
        if self.paused and self.in_flight < self.server.options.max_in_flight // 2:
            self.paused = False
            if not self._transport().is_closing():
                self._transport().resume_reading()

    def _write(self, data: bytes) -> None:
        transport = self._transport()
        if not transport.is_closing():
            transport.write(data)

    def _transport(self) -> asyncio.Transport:
        assert self.transport is not None
        return self.transport


class _UdpEndpoint(asyncio.DatagramProtocol):
    """Each datagram is one or more whole frames; a reply goes back to the sender's address."""

    def __init__(self, server: Dc09Server) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        peer = f"{addr[0]}:{addr[1]}"
        receiver = self.server.receiver()
        for event in receiver.receive_data(data, self.server.clock.now()):
            if isinstance(event, MessageReceived):
                self.server.store_then_ack(
                    receiver, event, "udp", peer, lambda data: self._send(data, addr)
                )
            else:
                self.server.rejected(event, peer)
                if event.reply is not None:
                    self._send(event.reply, addr)
        # Bytes after the last whole frame are dropped: a datagram never continues in the next.

    def _send(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def error_received(self, exc: Exception) -> None:
        _log.warning("dc09.udp_error", error=str(exc))
