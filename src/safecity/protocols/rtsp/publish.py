"""What a push ingest point says and hears, RFC 2326 §10.3 (ANNOUNCE), §10.11 (RECORD), §12.39
(Transport `mode=record`), §C.1.1 (control URLs): the events of `relay.RtspRelayConnection`
and the pure steps it takes for a publisher and for the readers of what it publishes.

A publisher (FFmpeg's RTSP muxer, `ffmpeg -re -i X -c copy -f rtsp rtsp://host/push/cam1`)
sends ANNOUNCE with its session description, then one SETUP per media section, each naming
that section's control URL and `mode=record` (RTP interleaved on the connection, or UDP from
its client ports to our server ports), then RECORD, RTP, and TEARDOWN. Readers DESCRIBE the
same path and get the announced description with every control rewritten to `trackID=<n>`
(the publisher's own controls may be absolute URLs of another host), session control `*`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from safecity.protocols.rtsp.errors import RtspError
from safecity.protocols.rtsp.responder import RequestRefused
from safecity.protocols.rtsp.sdp import MediaDescription, SessionDescription
from safecity.protocols.rtsp.server import TcpTarget, UdpTarget
from safecity.protocols.rtsp.transport import LowerTransport, TransportSpec

UNSUPPORTED_MEDIA_TYPE: Final = 415
READER_TRACK: Final = "trackID="
_SDP_TYPE: Final = "application/sdp"


Target = UdpTarget | TcpTarget
Tracks = tuple[tuple[int, Target], ...]  # (media section index, where its packets travel)


@dataclass(frozen=True)
class TrackPosition:
    """The last RTP packet relayed on a track: readers who join now are told what follows."""

    ssrc: int
    sequence: int  # of the last packet; the next one a reader sees has sequence + 1
    rtp_time: int


@dataclass(frozen=True)
class PathStatus:
    """What the adapter knows of a path: claimed by a publisher with `sdp` (its ANNOUNCE) and,
    once `recording`, served to readers with the position of each track (None: no packet yet)."""

    sdp: SessionDescription
    recording: bool = False
    positions: tuple[TrackPosition | None, ...] = ()


class EndReason(StrEnum):
    TEARDOWN = "teardown"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"
    PUBLISHER_GONE = "publisher_gone"


@dataclass(frozen=True)
class PathClaimed:
    """ANNOUNCE accepted: `path` is this connection's until `PathReleased`; refuse others."""

    path: str
    sdp: SessionDescription


@dataclass(frozen=True)
class RecordStarted:
    """RECORD: packets of `path` arrive on `tracks` (UDP: from the publisher's ports)."""

    session: str
    path: str
    tracks: Tracks


@dataclass(frozen=True)
class PathReleased:
    """The publisher of `path` left (or never recorded): readers' sessions end."""

    path: str
    reason: EndReason


@dataclass(frozen=True)
class MediaReceived:
    """One interleaved RTP (`rtcp` False) or RTCP packet of a recording session's `track`."""

    session: str
    path: str
    track: int
    rtcp: bool
    data: bytes


@dataclass(frozen=True)
class ReadStarted:
    """PLAY: send the packets of `path`'s tracks to `tracks`, from the next one relayed."""

    session: str
    path: str
    tracks: Tracks


@dataclass(frozen=True)
class ReadStopped:
    session: str
    path: str
    reason: EndReason


Event = (
    PathClaimed
    | RecordStarted
    | PathReleased
    | MediaReceived
    | ReadStarted
    | ReadStopped
    | RequestRefused
)


def announced_description(content_type: str | None, body: bytes) -> SessionDescription:
    """The session description of an ANNOUNCE: 415 unless `application/sdp`, 400 unless it
    parses and has at least one media section with an RTP payload."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind != _SDP_TYPE:
        raise RtspError(f"ANNOUNCE of {kind or 'no type'!r}", status=UNSUPPORTED_MEDIA_TYPE)
    sdp = SessionDescription.parse(body)
    if not sdp.media:
        raise RtspError("the session description has no media")
    for section in sdp.media:
        parts = section.media.split()
        if len(parts) < 4 or not parts[2].upper().startswith("RTP/AVP"):
            raise RtspError(f"media {section.media[:40]!r} is not RTP/AVP")
    return sdp


def publisher_track(sdp: SessionDescription, path: str, uri: str) -> int | None:
    """The media section a publisher's SETUP `uri` names through its control URL (§C.1.1:
    relative to the ANNOUNCE URL, or absolute); a description of one section without a
    control is set up at the path itself."""
    wanted = request_path(uri)
    for index, section in enumerate(sdp.media):
        controls = section.attributes("control")
        if not controls:
            if len(sdp.media) == 1 and wanted == path:
                return index
            continue
        control = controls[0].strip()
        if "://" in control:
            target = request_path(control)
        elif control in ("", "*"):
            target = path
        else:
            target = f"{path}/{control.lstrip('/')}".rstrip("/")
        if target == wanted:
            return index
    return None


def reader_track(path_and_track: str) -> tuple[str, int | None]:
    """A reader's SETUP path cut into the stream path and the track (`/push/a/trackID=1`)."""
    head, slash, last = path_and_track.rpartition("/")
    if slash and head and last.startswith(READER_TRACK):
        number = last.removeprefix(READER_TRACK)
        if number.isdigit() and number.isascii() and len(number) <= 3:
            return head, int(number)
    return path_and_track, None


def reader_description(sdp: SessionDescription) -> bytes:
    """The description readers get: the publisher's, controls rewritten (session `*`, media
    `trackID=<index>`), every other line as announced."""
    session = tuple(line for line in sdp.lines if not _is_control(line))
    media = tuple(
        MediaDescription(
            section.media,
            (
                *(line for line in section.lines if not _is_control(line)),
                ("a", f"control:{READER_TRACK}{index}"),
            ),
        )
        for index, section in enumerate(sdp.media)
    )
    return bytes(SessionDescription((*session, ("a", "control:*")), media))


def _is_control(line: tuple[str, str]) -> bool:
    return line[0] == "a" and line[1].partition(":")[0] == "control"


def request_path(uri: str) -> str:
    """The path a request URI names, without query or trailing `/`; 400 if unreadable."""
    try:
        path = urlsplit(uri).path if "://" in uri else uri.split("?", 1)[0]
    except ValueError as exc:  # an unreadable authority, such as an unclosed [IPv6
        raise RtspError(f"request URI {uri[:60]!r}") from exc
    return path.rstrip("/") or "/"


def rtp_info(base: str, tracks: Tracks, positions: tuple[TrackPosition | None, ...]) -> str:
    """RTP-Info (§12.33) for a reader's PLAY: each track's URL and, once the publisher sent a
    packet there, the sequence number and RTP time of the next one it will see."""
    parts = []
    for index, _ in tracks:
        text = f"url={base}/{READER_TRACK}{index}"
        position = positions[index] if index < len(positions) else None
        if position is not None:
            following = (position.sequence + 1) & 0xFFFF
            text += f";seq={following};rtptime={position.rtp_time}"
        parts.append(text)
    return ",".join(parts)


class TransportRefused(RtspError):
    """None of the offered transports is one we serve: 461 Unsupported Transport."""

    def __init__(self) -> None:
        super().__init__("no unicast RTP/AVP transport over UDP or TCP that we serve", status=461)


def choose_transport(
    offered: tuple[TransportSpec, ...],
    *,
    record: bool,
    peer_host: str,
    server_ports: tuple[int, int] | None,
    used_channels: Collection[int],
) -> tuple[Target, TransportSpec]:
    """The first offered transport we serve and our answer to it (§12.39): interleaved on
    channels free on the connection, or UDP unicast to (or from) the peer's own address, never
    elsewhere (§15.1, no traffic redirection); `TransportRefused` when none fits."""
    mode = "record" if record else "PLAY"
    for spec in offered:
        if not spec.protocol.upper().startswith("RTP/AVP") or not spec.unicast:
            continue
        if spec.lower_transport is LowerTransport.TCP:
            low, high = spec.interleaved or _free_channels(used_channels)
            high = high if high != low else low + 1
            if high > 255 or low in used_channels or high in used_channels:
                continue
            answer = TransportSpec(protocol=spec.protocol, interleaved=(low, high), mode=mode)
            return TcpTarget(low, high), answer
        if spec.client_port is None or server_ports is None:
            continue
        if spec.destination is not None and spec.destination != peer_host:
            continue
        low, high = spec.client_port
        high = high if high != low else low + 1
        answer = TransportSpec(
            protocol=spec.protocol,
            client_port=(low, high),
            server_port=server_ports,
            mode=mode,
        )
        return UdpTarget(peer_host, low, high), answer
    raise TransportRefused


def _free_channels(used: Collection[int]) -> tuple[int, int]:
    low = next((c for c in range(0, 255, 2) if c not in used and c + 1 not in used), 254)
    return low, low + 1
