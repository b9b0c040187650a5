"""What the RTSP client (`client.RtspClient`) tells its caller: DESCRIBE and PLAY answered, and
the ways a session ends (RFC 2326 §7.1.1 status codes in `RequestRefused`). Access units
(`protocols.rtp.access_unit.AccessUnit`) come between them."""

from __future__ import annotations

from dataclasses import dataclass

from safecity.protocols.rtp.access_unit import AccessUnit
from safecity.protocols.rtsp.track import VideoTrack
from safecity.protocols.rtsp.transport import TransportSpec


@dataclass(frozen=True)
class StreamDescribed:
    """DESCRIBE answered: the track we will pull."""

    track: VideoTrack


@dataclass(frozen=True)
class PlaybackStarted:
    """PLAY answered: RTP flows (on `transport`'s interleaved channels or UDP ports)."""

    session: str
    transport: TransportSpec


@dataclass(frozen=True)
class RequestRefused:
    """The server refused a request we cannot do without; the session is over."""

    method: str
    status: int
    reason: str


@dataclass(frozen=True)
class StreamUnsupported:
    """The URL has no H.264 or H.265 video track (another engine may still record it)."""

    reason: str


@dataclass(frozen=True)
class SessionTimedOut:
    """No answer to the exchange, or no data while playing, within the time allowed."""

    reason: str


ClientEvent = (
    StreamDescribed
    | PlaybackStarted
    | AccessUnit
    | RequestRefused
    | StreamUnsupported
    | SessionTimedOut
)
