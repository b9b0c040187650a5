"""The simulated cameras' WS-Discovery side: answer Probes with ProbeMatches.

One responder speaks for a whole fleet: for a Probe that matches (types and scopes, the
WS-Discovery rule in `protocols.wsdiscovery.matches`) it sends each matching camera's
ProbeMatches to the prober, as each real camera would from its own address. On port 3702 it
joins the 239.255.255.250 multicast group; on any other port (tests: 127.0.0.1, port 0) it
answers unicast Probes only.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, Self, cast

import structlog

from safecity.core.errors import RemoteProtocolError
from safecity.protocols.wsdiscovery import (
    DEVICE,
    MULTICAST_ADDRESS,
    NETWORK_VIDEO_TRANSMITTER,
    PORT,
    Probe,
    ProbeMatch,
    ProbeMatches,
    matches,
    parse,
)

_log = structlog.get_logger(__name__)

TYPES: Final = (NETWORK_VIDEO_TRANSMITTER, DEVICE)


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, owner: WsDiscoveryResponder) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython 3.11's selector datagram transport does not subclass DatagramTransport
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        try:
            message = parse(data)
        except RemoteProtocolError as error:
            _log.debug("wsdiscovery_unreadable", sender=addr[0], error=str(error))
            return
        if isinstance(message, Probe) and self.transport is not None:
            for reply in self.owner.answer(message):
                self.transport.sendto(bytes(reply), addr)

    def error_received(self, exc: Exception) -> None:
        _log.debug("wsdiscovery_socket_error", error=str(exc))


class WsDiscoveryResponder:
    """`async with WsDiscoveryResponder(lambda: [(endpoint, scopes, xaddr), ...]):`."""

    def __init__(
        self,
        cameras: Callable[[], Sequence[tuple[str, tuple[str, ...], str]]],
        *,
        host: str = "0.0.0.0",  # noqa: S104 - probes come from the whole network
        port: int = PORT,
    ) -> None:
        self.cameras = cameras
        self.host = host
        self.port = port
        self.probes = 0
        self._transport: asyncio.DatagramTransport | None = None

    def answer(self, probe: Probe) -> list[ProbeMatches]:
        self.probes += 1
        return [
            ProbeMatches(
                message_id=f"urn:uuid:{uuid.uuid4()}",
                relates_to=probe.message_id,
                matches=(ProbeMatch(endpoint, TYPES, scopes, (xaddr,)),),
            )
            for endpoint, scopes, xaddr in self.cameras()
            if matches(probe, TYPES, scopes)
        ]

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            if self.port == PORT:
                group = socket.inet_aton(MULTICAST_ADDRESS)
                membership = struct.pack("=4sI", group, socket.INADDR_ANY)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        except OSError:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(lambda: _Responder(self), sock=sock)
        self._transport = transport
        self.port = sock.getsockname()[1]
        _log.info("wsdiscovery_responding", host=self.host, port=self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
