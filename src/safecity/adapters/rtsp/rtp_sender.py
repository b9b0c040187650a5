"""How our RTSP servers send RTP and RTCP to a session's target: from our UDP port pair to the
client's ports, or interleaved on its TCP connection (RFC 2326 §10.12). Shared by the push
ingest point (`push_server`, relaying a publisher's packets) and the camera simulator
(`sim.cameras`, sending its clip), which differ only in what they send and in what they do
about a TCP reader that falls behind (`backlog` tells them).

The UDP ports are an even RTP port and the odd RTCP port after it (RFC 3550 §11), bound on
the server's host. What arrives on them (clients' RTCP, a publisher's RTP, NAT punches) goes
to `on_datagram` with the sender's address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Final

import structlog

from safecity.protocols.rtsp.server import UdpTarget

_log = structlog.get_logger(__name__)

PORT_PAIR_TRIES: Final = 32

Address = tuple[str, int]
Datagram = bytes | bytearray | memoryview


class RtpSender:
    """`await sender.open(host)` binds the UDP pair (`ports`); `close()` releases it."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram
        self.ports: tuple[int, int] | None = None  # our RTP and RTCP ports, once open
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None

    async def open(self, host: str) -> None:
        """Bind an even RTP port and the odd RTCP port after it; OSError if none is free."""
        loop = asyncio.get_running_loop()
        for _ in range(PORT_PAIR_TRIES):
            rtp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpPort(self.on_datagram), local_addr=(host, 0)
            )
            port = rtp.get_extra_info("sockname")[1]
            if port % 2 == 0:
                try:
                    rtcp, _ = await loop.create_datagram_endpoint(
                        lambda: _UdpPort(self.on_datagram), local_addr=(host, port + 1)
                    )
                except OSError:
                    pass
                else:
                    self._rtp, self._rtcp = rtp, rtcp
                    self.ports = (port, port + 1)
                    return
            rtp.close()
        raise OSError("no free even/odd UDP port pair for RTP and RTCP")

    def close(self) -> None:
        for transport in (self._rtp, self._rtcp):
            if transport is not None:
                transport.close()

    def to_udp(self, target: UdpTarget, packets: Iterable[Datagram], *, rtcp: bool = False) -> None:
        """Each packet as one datagram from our RTP (or RTCP) port to the target's; nothing
        while the ports are not open."""
        sender = self._rtcp if rtcp else self._rtp
        if sender is None:
            return
        address = (target.host, target.rtcp_port if rtcp else target.rtp_port)
        for packet in packets:
            sender.sendto(packet, address)

    @staticmethod
    def backlog(transport: asyncio.Transport | None) -> int | None:
        """Octets a TCP connection has yet to send; None when it takes no more writes."""
        if transport is None or transport.is_closing():
            return None
        return transport.get_write_buffer_size()

    @staticmethod
    def to_tcp(transport: asyncio.Transport, channel: int, data: bytes) -> None:
        """One packet interleaved on `channel`: `$`, the channel, the length, the packet."""
        transport.write(b"$" + bytes((channel,)) + len(data).to_bytes(2, "big"))
        transport.write(data)


class _UdpPort(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Address], None]) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        host = addr[0].decode() if isinstance(addr[0], bytes) else addr[0]
        self.on_datagram(data, (host, addr[1]))

    def error_received(self, exc: Exception) -> None:
        """ICMP port unreachable after a client left: its session lapses on its timeout."""
        _log.debug("rtp.udp_error", error=str(exc))
