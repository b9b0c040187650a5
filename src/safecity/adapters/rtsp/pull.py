"""One camera's RTSP pull connection on non-blocking sockets: the TCP connection to the camera
(RTSP, and RTP interleaved on it), or, for RTP over UDP, a pair of UDP sockets on an even RTP
port and the odd RTCP port after it (RFC 3550 §11). The `RtspClient` does the protocol; this
only moves bytes between it and the sockets, for the pull loop that owns the selector.

Credentials come from the URL's user part (percent-encoded, as the registry writes them) and
never go out in a request URI or a log line.
"""

from __future__ import annotations

import contextlib
import errno
import random
import selectors
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

from safecity.core.errors import RemoteProtocolError
from safecity.protocols.rtp.access_unit import AccessUnit
from safecity.protocols.rtsp.auth import Credentials
from safecity.protocols.rtsp.client import (
    ClientEvent,
    RequestRefused,
    RtspClient,
    SessionTimedOut,
    StreamDescribed,
    StreamUnsupported,
)
from safecity.protocols.rtsp.track import VideoTrack
from safecity.protocols.rtsp.transport import LowerTransport

DEFAULT_PORT: Final = 554
UDP_RECEIVE_BUFFER: Final = 1 << 21
PORT_PAIR_TRIES: Final = 32
MAX_DATAGRAMS: Final = 256  # per readiness, so one camera cannot starve the others
FALLBACK_STATUSES: Final = frozenset({461, 501, 505, 551})  # transport, method, version, option


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a URL points and who we are there."""

    host: str
    port: int
    url: str  # without the user part
    credentials: Credentials | None


def endpoint(url: str, rng: random.Random) -> Endpoint:
    """`ValueError` for a URL that is not rtsp://host[:port]/..."""
    parts = urlsplit(url)
    if parts.scheme != "rtsp" or not parts.hostname:
        raise ValueError("not an rtsp:// URL with a host")
    credentials = None
    if parts.username is not None:
        password = unquote(parts.password or "")
        credentials = Credentials(unquote(parts.username), password, rng)
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit(parts._replace(netloc=netloc))
    return Endpoint(parts.hostname, parts.port or DEFAULT_PORT, clean, credentials)


class PullHandler:
    """What the connection tells its owner."""

    def __init__(
        self,
        described: Callable[[VideoTrack], None],
        units: Callable[[list[AccessUnit]], None],
        ended: Callable[[str, bool], None],
    ) -> None:
        self.described = described
        self.units = units
        self.ended = ended  # (reason, fall back to another engine)


class PullConnection:
    """One camera: connect, play, pass access units on, end once."""

    def __init__(
        self,
        target: Endpoint,
        handler: PullHandler,
        selector: selectors.BaseSelector,
        *,
        transport: LowerTransport,
        open_timeout_s: float,
        read_timeout_s: float,
        rng: random.Random,
    ) -> None:
        self.target = target
        self.handler = handler
        self.ended = False
        self._selector = selector
        self._udp: tuple[socket.socket, socket.socket] | None = None
        ports = None
        if transport is LowerTransport.UDP:
            self._udp = _udp_pair(target.host)
            ports = (self._udp[0].getsockname()[1], self._udp[1].getsockname()[1])
        self.client = RtspClient(
            target.url,
            credentials=target.credentials,
            transport=transport,
            client_ports=ports,
            open_timeout_s=open_timeout_s,
            read_timeout_s=read_timeout_s,
            rng=rng,
        )
        family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)  # noqa: FBT003 - the socket API
        self._connected = False
        error = self.sock.connect_ex((target.host, target.port))
        if error not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self.sock.close()
            self._close_udp()
            raise OSError(error, f"cannot connect to {target.host}:{target.port}")
        selector.register(self.sock, selectors.EVENT_WRITE, self.on_connected)
        if self._udp is not None:
            selector.register(self._udp[0], selectors.EVENT_READ, self.on_datagrams)
            selector.register(self._udp[1], selectors.EVENT_READ, self.on_rtcp)

    # -- selector callbacks (view: the loop's receive buffer) --------------------------------

    def on_connected(self, now: float, view: memoryview) -> None:  # noqa: ARG002 - same shape
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self.end(f"cannot connect to {self.target.host}:{self.target.port}: "
                     f"{errno.errorcode.get(error, error)}", fallback=False)  # fmt: skip
            return
        self._connected = True
        self._selector.modify(self.sock, selectors.EVENT_READ, self.on_readable)
        self.client.start(now)
        self._flush()

    def on_readable(self, now: float, view: memoryview) -> None:
        try:
            count = self.sock.recv_into(view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.end(f"connection lost: {exc.strerror or exc}", fallback=False)
            return
        if count == 0:
            self.end("the camera closed the connection", fallback=False)
            return
        try:
            events = self.client.receive_data(view[:count], now)
        except RemoteProtocolError as exc:
            self.end(f"unreadable RTSP from the camera: {exc}", fallback=True)
            return
        self._events(events)
        self._flush()

    def on_datagrams(self, now: float, view: memoryview) -> None:
        assert self._udp is not None
        sock = self._udp[0]
        units: list[AccessUnit] = []
        for _ in range(MAX_DATAGRAMS):
            try:
                count = sock.recv_into(view)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # ICMP port unreachable and the like: the session times out if it lasts
            units += self.client.receive_datagram(bytes(view[:count]), now)
        if units:
            self.handler.units(units)

    def on_rtcp(self, now: float, view: memoryview) -> None:  # noqa: ARG002 - same shape
        assert self._udp is not None
        for _ in range(MAX_DATAGRAMS):
            try:
                self._udp[1].recv_into(view)  # sender reports: not needed to record
            except OSError:
                break

    # -- timers and the end ------------------------------------------------------------------

    def deadline(self) -> float | None:
        return self.client.next_deadline()

    def on_timeout(self, now: float, view: memoryview) -> None:  # noqa: ARG002 - same shape
        self._events(self.client.handle_timeout(now))
        self._flush()

    def end(self, reason: str, *, fallback: bool) -> None:
        if self.ended:
            return
        self.ended = True
        self._close()
        self.handler.ended(reason, fallback)

    def teardown(self, now: float) -> None:
        """Stop: TEARDOWN if playing (best effort), close, and tell no one."""
        if self.ended:
            return
        self.ended = True
        if self._connected:
            self.client.close(now)
            self._flush()
        self._close()

    def _events(self, events: list[ClientEvent]) -> None:
        units: list[AccessUnit] = []
        for event in events:
            if isinstance(event, AccessUnit):
                units.append(event)
            elif isinstance(event, StreamDescribed):
                self.handler.described(event.track)
            elif isinstance(event, RequestRefused):
                fallback = event.status in FALLBACK_STATUSES
                why = f"{event.method} refused: {event.status} {event.reason}"
                self.end(why, fallback=fallback)
            elif isinstance(event, StreamUnsupported):
                self.end(event.reason, fallback=True)
            elif isinstance(event, SessionTimedOut):
                self.end(event.reason, fallback=False)
        if units and not self.ended:
            self.handler.units(units)

    def _flush(self) -> None:
        data = self.client.data_to_send()
        if not data or self.sock.fileno() < 0:
            return
        try:
            sent = self.sock.send(data)  # requests are small and the send buffer empty
        except OSError as exc:
            self.end(f"connection lost: {exc.strerror or exc}", fallback=False)
            return
        if sent != len(data):
            self.end("the camera does not read our requests", fallback=False)

    def _close(self) -> None:
        for sock in (self.sock, *(self._udp or ())):
            if sock.fileno() >= 0:
                with contextlib.suppress(KeyError, ValueError):  # never registered
                    self._selector.unregister(sock)
                sock.close()
        self._udp = None

    def _close_udp(self) -> None:
        for sock in self._udp or ():
            sock.close()
        self._udp = None


def _udp_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Non-blocking UDP sockets on an even port and the next odd one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    anywhere = "::" if family == socket.AF_INET6 else "0.0.0.0"  # noqa: S104 - RTP from the camera
    for _ in range(PORT_PAIR_TRIES):
        rtp = socket.socket(family, socket.SOCK_DGRAM)
        rtp.bind((anywhere, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                rtcp.bind((anywhere, port + 1))
            except OSError:
                rtcp.close()
            else:
                for sock in (rtp, rtcp):
                    sock.setblocking(False)  # noqa: FBT003 - the socket API
                rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
                return rtp, rtcp
        rtp.close()
    raise OSError("no free even/odd UDP port pair for RTP and RTCP")
