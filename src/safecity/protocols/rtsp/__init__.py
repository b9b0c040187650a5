"""RTSP/1.0 (RFC 2326), sans-IO: messages, the framing of a connection that mixes them with
interleaved RTP, the Transport header, session descriptions for H.264/H.265 video, and the
server state machine of one connection."""

from safecity.protocols.rtsp.errors import RtspError
from safecity.protocols.rtsp.framing import RtspDecoder
from safecity.protocols.rtsp.message import (
    RtspMessage,
    RtspRequest,
    RtspResponse,
    parse_message,
)
from safecity.protocols.rtsp.responder import RequestRefused
from safecity.protocols.rtsp.sdp import (
    MediaDescription,
    SessionDescription,
    format_parameters,
    parse_format_parameters,
    video_session,
)
from safecity.protocols.rtsp.server import (
    PlayStarted,
    PlayStopped,
    RtcpReceived,
    RtspServerConnection,
    StopReason,
    StreamOffer,
    TcpTarget,
    UdpTarget,
)
from safecity.protocols.rtsp.transport import (
    LowerTransport,
    TransportSpec,
    format_transport_header,
    parse_transport_header,
)

__all__ = [
    "LowerTransport",
    "MediaDescription",
    "PlayStarted",
    "PlayStopped",
    "RequestRefused",
    "RtcpReceived",
    "RtspDecoder",
    "RtspError",
    "RtspMessage",
    "RtspRequest",
    "RtspResponse",
    "RtspServerConnection",
    "SessionDescription",
    "StopReason",
    "StreamOffer",
    "TcpTarget",
    "TransportSpec",
    "UdpTarget",
    "format_parameters",
    "format_transport_header",
    "parse_format_parameters",
    "parse_message",
    "parse_transport_header",
    "video_session",
]
