"""Find ONVIF cameras with WS-Discovery: send a Probe for `dn:NetworkVideoTransmitter` and
collect the ProbeMatches that answer it (`safecity.protocols.wsdiscovery` does the XML).

The Probe goes to 239.255.255.250:3702 by default (multicast, TTL 1: the local network, as
SOAP-over-UDP §3.1 and ONVIF Core §7.3 have it), or to one address and port (unicast: a camera
on another subnet, or the simulator on 127.0.0.1 in tests). It is sent `repeats` times, 100 ms
apart (UDP may drop it); answers are read for `timeout_s` and merged by endpoint reference.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import structlog

from safecity.core.errors import RemoteProtocolError
from safecity.protocols.wsdiscovery import (
    MULTICAST_ADDRESS,
    NETWORK_VIDEO_TRANSMITTER,
    PORT,
    Probe,
    ProbeMatches,
    QualifiedName,
    parse,
)

_log = structlog.get_logger(__name__)

REPEAT_INTERVAL_S: Final = 0.1
MULTICAST_TTL: Final = 1


@dataclass(frozen=True, slots=True)
class DiscoveredCamera:
    """One answering endpoint: its EPR address, service addresses, scopes and types."""

    endpoint: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]
    types: tuple[QualifiedName, ...]
    sender: str  # the IP address the answer came from

    @property
    def host_port(self) -> tuple[str, int] | None:
        """Host and port of the first HTTP(S) device service address, for `OnvifCamera`."""
        for xaddr in self.xaddrs:
            parts = urlsplit(xaddr)
            if parts.scheme in {"http", "https"} and parts.hostname:
                default = 443 if parts.scheme == "https" else 80
                try:
                    return parts.hostname, parts.port or default
                except ValueError:  # a port out of range
                    continue
        return None

    @property
    def name(self) -> str | None:
        """The `onvif://www.onvif.org/name/...` scope, if the camera has one."""
        prefix = "onvif://www.onvif.org/name/"
        return next((s.removeprefix(prefix) for s in self.scopes if s.startswith(prefix)), None)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, DiscoveredCamera] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        try:
            message = parse(data)
        except RemoteProtocolError as error:
            _log.debug("wsdiscovery_unreadable", sender=addr[0], error=str(error))
            return
        if not isinstance(message, ProbeMatches) or message.relates_to != self.message_id:
            return
        sender = addr[0].decode() if isinstance(addr[0], bytes) else addr[0]
        for match in message.matches:
            self.found.setdefault(
                match.endpoint,
                DiscoveredCamera(match.endpoint, match.xaddrs, match.scopes, match.types, sender),
            )

    def error_received(self, exc: Exception) -> None:
        _log.debug("wsdiscovery_socket_error", error=str(exc))


async def discover(
    *,
    address: str = MULTICAST_ADDRESS,
    port: int = PORT,
    timeout_s: float = 2.0,
    types: tuple[QualifiedName, ...] = (NETWORK_VIDEO_TRANSMITTER,),
    scopes: tuple[str, ...] = (),
    local_address: str = "0.0.0.0",  # noqa: S104 - answers come back from the whole network
    repeats: int = 2,
) -> list[DiscoveredCamera]:
    """Probe, wait `timeout_s`, and return the cameras that answered (in order of endpoint)."""
    probe = Probe(message_id=f"urn:uuid:{uuid.uuid4()}", types=types, scopes=scopes)
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        lambda: _Collector(probe.message_id), local_addr=(local_address, 0), family=socket.AF_INET
    )
    try:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
        datagram = bytes(probe)
        deadline = loop.time() + timeout_s
        for attempt in range(max(1, repeats)):
            if attempt:
                await asyncio.sleep(min(REPEAT_INTERVAL_S, max(0.0, deadline - loop.time())))
            transport.sendto(datagram, (address, port))
        await asyncio.sleep(max(0.0, deadline - loop.time()))
    finally:
        transport.close()
    return sorted(collector.found.values(), key=lambda camera: camera.endpoint)
