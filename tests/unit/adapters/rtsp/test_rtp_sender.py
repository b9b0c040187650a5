"""What our RTSP servers send RTP with: an even/odd UDP port pair (RFC 3550 §11) that sends to
a client's RTP or RTCP port and hands back what arrives, and interleaved writes on TCP
(RFC 2326 §10.12) with the backlog that tells a slow reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from safecity.adapters.rtsp.rtp_sender import Address, RtpSender
from safecity.protocols.rtp import InterleavedFrame
from safecity.protocols.rtsp import RtspDecoder, UdpTarget


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self.received.put_nowait((data, (str(addr[0]), addr[1])))


@pytest.fixture
async def sender() -> AsyncIterator[tuple[RtpSender, asyncio.Queue[tuple[bytes, Address]]]]:
    arrived: asyncio.Queue[tuple[bytes, Address]] = asyncio.Queue()
    opened = RtpSender(lambda data, address: arrived.put_nowait((data, address)))
    await opened.open("127.0.0.1")
    try:
        yield opened, arrived
    finally:
        opened.close()


async def client_port() -> tuple[asyncio.DatagramTransport, Client, int]:
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
    return transport, client, int(transport.get_extra_info("sockname")[1])


async def test_the_ports_are_an_even_rtp_port_and_the_odd_rtcp_port_after_it(
    sender: tuple[RtpSender, asyncio.Queue[tuple[bytes, Address]]],
) -> None:
    ports = sender[0].ports
    assert ports is not None
    assert ports[0] % 2 == 0
    assert ports[1] == ports[0] + 1


async def test_packets_go_from_our_rtp_or_rtcp_port_to_the_clients_matching_port(
    sender: tuple[RtpSender, asyncio.Queue[tuple[bytes, Address]]],
) -> None:
    rtp_sender, _ = sender
    assert rtp_sender.ports is not None
    rtp, rtp_client, rtp_port = await client_port()
    rtcp, rtcp_client, rtcp_port = await client_port()
    target = UdpTarget("127.0.0.1", rtp_port, rtcp_port)
    try:
        rtp_sender.to_udp(target, [b"one", memoryview(b"two")])
        rtp_sender.to_udp(target, [b"report"], rtcp=True)
        async with asyncio.timeout(5):
            first = await rtp_client.received.get()
            second = await rtp_client.received.get()
            report = await rtcp_client.received.get()
    finally:
        rtp.close()
        rtcp.close()
    assert first == (b"one", ("127.0.0.1", rtp_sender.ports[0]))
    assert second == (b"two", ("127.0.0.1", rtp_sender.ports[0]))
    assert report == (b"report", ("127.0.0.1", rtp_sender.ports[1]))


async def test_what_arrives_on_our_ports_is_handed_over_with_its_sender(
    sender: tuple[RtpSender, asyncio.Queue[tuple[bytes, Address]]],
) -> None:
    rtp_sender, arrived = sender
    assert rtp_sender.ports is not None
    client, _, port = await client_port()
    try:
        client.sendto(b"rtcp", ("127.0.0.1", rtp_sender.ports[1]))
        async with asyncio.timeout(5):
            got = await arrived.get()
    finally:
        client.close()
    assert got == (b"rtcp", ("127.0.0.1", port))


async def test_tcp_packets_are_framed_on_their_channel_until_the_connection_closes() -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.put_nowait(await reader.readexactly(4 + 5))
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    try:
        assert RtpSender.backlog(transport) == 0
        RtpSender.to_tcp(transport, 3, b"hello")
        async with asyncio.timeout(5):
            framed = await received.get()
    finally:
        transport.close()
        server.close()
        await server.wait_closed()
    assert RtspDecoder().feed(framed) == [InterleavedFrame(3, b"hello")]
    assert RtpSender.backlog(transport) is None
    assert RtpSender.backlog(None) is None
