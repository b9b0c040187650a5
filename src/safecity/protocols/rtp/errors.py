"""The one exception the RTP codecs raise on bad input (RFC 3550, RFC 6184, RFC 7798)."""

from __future__ import annotations

from safecity.core.errors import RemoteProtocolError


class RtpError(RemoteProtocolError):
    """The peer sent an RTP packet, payload or interleaved frame we cannot read."""
