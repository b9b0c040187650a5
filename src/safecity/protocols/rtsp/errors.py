"""The one exception the RTSP codecs raise on bad input, with the status to answer it with
(RFC 2326 §7.1.1: 400 Bad Request, 413 Request Entity Too Large, 505 Version Not Supported)."""

from __future__ import annotations

from safecity.core.errors import RemoteProtocolError

BAD_REQUEST = 400


class RtspError(RemoteProtocolError):
    """The peer sent an RTSP message or header we cannot read; `status` is the answer."""

    def __init__(self, message: str, *, status: int = BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"RtspError({self.message!r}, status={self.status})"
