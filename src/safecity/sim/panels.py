"""Simulated SIA DC-09 alarm panels on asyncio, TCP and UDP, a thousand in one process.

Each panel is one asyncio task (no thread per panel) that behaves like a real panel's queue:
one message in flight at a time; wait up to `ack_timeout_s` for the ACK, retransmit the same
frame (same sequence and timestamp) up to `retries` times; on NAK correct its clock from the
receiver's time and resend the message rebuilt with a fresh timestamp; on DUH give up (refused).
Every write after the first of a message, a NAK resend included, is a retransmission, and every
failed attempt (no answer in time, connection lost, NAK) uses up one retry.

TCP panels keep one connection for many messages (`keep_open`), or open one per message. A
refused or reset connection is retried with capped exponential backoff (0.05 s doubling to 2 s)
and the in-flight message is sent again on the new connection; it is never dropped while retries
remain. UDP panels each own one connected datagram socket (one per panel, as each real panel has
its own address; 1,000 sockets fit the default descriptor limits) and send one datagram per
message; the ACK comes back as a datagram.

Pacing: `rate` is messages per second over the fleet, so each panel sends every
`len(panels) / rate` seconds (its supervision interval, +/-10 % jitter, random phase). A panel
that falls behind (slow ACKs) sends its next message at once but does not burst to catch up.
With a duration, no message starts after it and in-flight ones get `ack_timeout_s` more; with
neither a duration nor a message count the fleet runs until cancelled, its `report` live.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

import structlog

from safecity.protocols.dc09 import AesKey, Dc09Message, Dc09Panel, PanelReply, Token
from safecity.sim.panel_traffic import PanelEvent, traffic_for

_log = structlog.get_logger(__name__)

BACKOFF_FIRST_S: Final = 0.05
BACKOFF_MAX_S: Final = 2.0
CONNECT_MIN_S: Final = 1.0
CLOCK_CORRECTION_MIN: Final = timedelta(seconds=2)  # a NAK's time has whole seconds
READ_SIZE: Final = 4096

Delivered = tuple[str, int, datetime, str]
"""(account, sequence, timestamp, data) of one message, to compare with what a receiver stored."""


@dataclass(frozen=True)
class PanelSpec:
    account: str
    key: AesKey | None = None
    transport: Literal["tcp", "udp"] = "tcp"


@dataclass(frozen=True)
class SimConfig:
    host: str
    port: int
    rate: float  # new messages per second over all panels
    duration_s: float | None = None
    messages: int | None = None  # stop after this many new messages in total
    ack_timeout_s: float = 20.0
    retries: int | None = 3  # None: retry until the run's deadline
    keep_open: bool = True
    seed: int = 1
    include_polls: bool = True
    receiver: str | None = None
    line: str = "0"
    udp_port: int | None = None  # where UDP panels send, when not `port`


@dataclass
class SimReport:
    sent: int = 0
    acknowledged: int = 0
    unacknowledged: int = 0
    refused: int = 0
    naks: int = 0
    retransmissions: int = 0
    reconnects: int = 0
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acked: list[Delivered] = field(default_factory=list)
    unacked: list[Delivered] = field(default_factory=list)
    refused_messages: list[Delivered] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return _percentile(self.latencies, 50)

    @property
    def p99(self) -> float | None:
        return _percentile(self.latencies, 99)

    @property
    def throughput(self) -> float:
        """Acknowledged messages per second of the run."""
        return self.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _percentile(values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def numbered_accounts(count: int, prefix: str = "10") -> list[str]:
    """Account i is `prefix` + f"{i + 1:04X}": "100001", "100002", ... "10FFFF" (65,535 panels)."""
    if not 0 <= count <= 0xFFFF:
        raise ValueError(f"between 0 and 65535 panels, not {count}")
    return [f"{prefix}{i + 1:04X}" for i in range(count)]


def demo_panels(
    accounts: Sequence[tuple[str, AesKey | None]], *, udp_share: float = 0.0
) -> list[PanelSpec]:
    """Panels for given accounts; `udp_share` of them (spread evenly) report over UDP."""
    specs = []
    for i, (account, key) in enumerate(accounts):
        udp = math.floor((i + 1) * udp_share) > math.floor(i * udp_share)
        specs.append(PanelSpec(account, key, "udp" if udp else "tcp"))
    return specs


async def run_panels(config: SimConfig, panels: list[PanelSpec]) -> SimReport:
    """Run the fleet to its end (duration, message count) and report; see `PanelFleet`."""
    return await PanelFleet(config, panels).run()


class PanelFleet:
    """The panels of one run; `report` is live while `run()` goes on."""

    def __init__(self, config: SimConfig, panels: list[PanelSpec]) -> None:
        if config.rate <= 0:
            raise ValueError(f"rate must be positive, not {config.rate}")
        self.config = config
        self.panels = panels
        self.report = SimReport()
        self.deadline: float | None = None  # loop time after which no new message starts
        self.hard_deadline = math.inf  # loop time after which nothing waits any more
        self._claimed = 0

    def claim(self) -> bool:
        """Take one of the run's new messages, if any remain."""
        if self.config.messages is not None and self._claimed >= self.config.messages:
            return False
        self._claimed += 1
        return True

    async def run(self) -> SimReport:
        loop = asyncio.get_running_loop()
        start = loop.time()
        if self.config.duration_s is not None:
            self.deadline = start + self.config.duration_s
            self.hard_deadline = self.deadline + self.config.ack_timeout_s
        interval = len(self.panels) / self.config.rate
        try:
            async with asyncio.TaskGroup() as group:
                for spec in self.panels:
                    group.create_task(_PanelRunner(self, spec).run(start, interval))
        finally:
            self.report.elapsed_s = loop.time() - start
        return self.report


class _PanelRunner:
    def __init__(self, fleet: PanelFleet, spec: PanelSpec) -> None:
        config = fleet.config
        self.fleet = fleet
        self.rng = random.Random(f"panel/{config.seed}/{spec.account}")  # noqa: S311 - seeded sim
        self.panel = Dc09Panel(
            spec.account,
            key=spec.key,
            receiver=config.receiver,
            line=config.line,
            rng=self.rng,
            first_sequence=self.rng.randint(1, 9999),
        )
        self.traffic = traffic_for(spec.account, config.seed, include_polls=config.include_polls)
        self.link: _TcpLink | _UdpLink = (
            _UdpLink(config.host, config.udp_port or config.port)
            if spec.transport == "udp"
            else _TcpLink(config.host, config.port, fleet.report)
        )
        self.replies: deque[PanelReply] = deque()
        self.clock_offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    async def run(self, start: float, interval: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = start + self.rng.random() * interval
        try:
            while self.fleet.deadline is None or next_at < self.fleet.deadline:
                if (delay := next_at - loop.time()) > 0:
                    await asyncio.sleep(delay)
                if not self.fleet.claim():
                    return
                await self.deliver(self.traffic.next_event(self.now()))
                if not self.fleet.config.keep_open and isinstance(self.link, _TcpLink):
                    self.link.close()
                next_at = max(next_at + interval * self.rng.uniform(0.9, 1.1), loop.time())
        finally:
            self.link.close()

    async def deliver(self, event: PanelEvent) -> None:
        """Send one message until it is ACKed, refused, or out of retries and time."""
        loop = asyncio.get_running_loop()
        report = self.fleet.report
        report.sent += 1
        message, frame = self.panel.message(event.token, event.data, self.now())
        retries_left = self.fleet.config.retries
        first_sent: float | None = None
        while True:
            written, reply = await self.attempt(message, frame)
            if written is not None:
                if first_sent is None:
                    first_sent = written
                else:
                    report.retransmissions += 1
            if reply is not None and reply.token in (Token.ACK, Token.RSP):
                report.acknowledged += 1
                report.latencies.append(loop.time() - (first_sent or loop.time()))
                report.acked.append(_delivered(message))
                return
            if reply is not None and reply.token is Token.DUH:
                report.refused += 1
                report.refused_messages.append(_delivered(message))
                return
            if reply is not None and reply.token is Token.NAK:
                report.naks += 1
                self.correct_clock(reply)
            if retries_left == 0 or loop.time() >= self.fleet.hard_deadline:
                report.unacknowledged += 1
                report.unacked.append(_delivered(message))
                return
            if retries_left is not None:
                retries_left -= 1
            if reply is not None:  # a NAK: the same content with a fresh timestamp
                message, frame = self.panel.message(event.token, event.data, self.now())
            else:
                frame = self.panel.retransmission(message, self.now())

    async def attempt(
        self, message: Dc09Message, frame: bytes
    ) -> tuple[float | None, PanelReply | None]:
        """Write the frame once and wait for its answer: (when written, the reply or None)."""
        loop = asyncio.get_running_loop()
        deadline = min(loop.time() + self.fleet.config.ack_timeout_s, self.fleet.hard_deadline)
        written: float | None = None
        try:
            await self.link.send(frame, deadline)
            written = loop.time()
            return written, await self.reply_to(message, deadline)
        except TimeoutError:
            return written, None
        except OSError as exc:  # connection refused or reset: the next attempt reconnects
            _log.debug("panel_link_lost", account=message.account, error=str(exc))
            self.link.close(failed=True)
            return written, None

    async def reply_to(self, message: Dc09Message, deadline: float) -> PanelReply:
        while True:
            while self.replies:
                reply = self.replies.popleft()
                if reply.token is Token.NAK:  # a NAK names no sequence or account ("0000", "A0")
                    return reply
                if reply.sequence == message.sequence and reply.account in ("", message.account):
                    return reply
                # else: a late answer to an earlier message, already settled
            self.replies.extend(self.panel.receive_data(await self.link.read(deadline)))

    def correct_clock(self, nak: PanelReply) -> None:
        if nak.timestamp is None:
            return
        offset = nak.timestamp - datetime.now(UTC)
        if abs(offset) >= CLOCK_CORRECTION_MIN:
            self.clock_offset = offset


def _delivered(message: Dc09Message) -> Delivered:
    assert message.timestamp is not None  # Dc09Panel always stamps its messages
    return (message.account, message.sequence, message.timestamp, message.data)


class _TcpLink:
    """One panel's TCP connection: connects on demand, backs off after failures."""

    def __init__(self, host: str, port: int, report: SimReport) -> None:
        self.host, self.port, self.report = host, port, report
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.backoff = BACKOFF_FIRST_S
        self.failed = False  # the last connection failed or was lost: back off, count a reconnect

    async def send(self, frame: bytes, deadline: float) -> None:
        if self.writer is None or self.writer.is_closing() or self._peer_closed():
            self.close(failed=self.writer is not None)
            await self._connect(deadline)
        assert self.writer is not None
        self.writer.write(frame)
        async with asyncio.timeout_at(deadline):
            await self.writer.drain()

    async def read(self, deadline: float) -> bytes:
        if self.reader is None:
            raise ConnectionResetError("not connected")
        async with asyncio.timeout_at(deadline):
            data = await self.reader.read(READ_SIZE)
        if not data:
            raise ConnectionResetError("connection closed by the receiver")
        self.backoff = BACKOFF_FIRST_S  # the receiver answers: healthy again
        return data

    def _peer_closed(self) -> bool:
        return self.reader is not None and self.reader.at_eof()

    async def _connect(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.failed:
                pause = min(self.backoff, deadline - loop.time())
                if pause <= 0:
                    raise TimeoutError
                self.backoff = min(self.backoff * 2, BACKOFF_MAX_S)
                await asyncio.sleep(pause)
            # A backoff as long as the ACK timeout would leave no time to connect at all, and
            # the panel would never come back: a connection attempt gets at least a second.
            try:
                async with asyncio.timeout_at(max(deadline, loop.time() + CONNECT_MIN_S)):
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            except TimeoutError:
                raise
            except OSError as exc:
                _log.debug("panel_connect_failed", host=self.host, port=self.port, error=str(exc))
                self.failed = True
                continue
            if self.failed:
                self.report.reconnects += 1
                self.failed = False
            return

    def close(self, *, failed: bool = False) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.failed = self.failed or failed


class _UdpReceiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:  # noqa: ARG002
        self.datagrams.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        """ICMP port unreachable and the like: the datagram is lost, the ACK timeout retries."""
        _log.debug("panel_datagram_error", error=str(exc))


class _UdpLink:
    """One panel's connected UDP socket; a datagram that cannot be sent is simply lost."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.transport: asyncio.DatagramTransport | None = None
        self.protocol = _UdpReceiver()

    async def send(self, frame: bytes, deadline: float) -> None:
        if self.transport is None:
            loop = asyncio.get_running_loop()
            async with asyncio.timeout_at(deadline):
                self.transport, _ = await loop.create_datagram_endpoint(
                    lambda: self.protocol, remote_addr=(self.host, self.port)
                )
        self.transport.sendto(frame)

    async def read(self, deadline: float) -> bytes:
        async with asyncio.timeout_at(deadline):
            return await self.protocol.datagrams.get()

    def close(self, *, failed: bool = False) -> None:  # noqa: ARG002 - same call as TCP's
        if self.transport is not None:
            self.transport.close()
        self.transport = None
