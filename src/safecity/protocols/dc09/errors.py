"""Why a DC-09 frame was refused (ANSI/SIA DC-09-2013 §5.5.2, responses ACK/NAK/DUH).

`Dc09Error` is the only exception the DC-09 parsers raise; it carries a `RejectReason` that the
receiver turns into no reply (bad CRC, length or format), a NAK (timestamp out of window) or a
DUH (a well-formed message it cannot process).
"""

from __future__ import annotations

from enum import StrEnum

from safecity.core.errors import RemoteProtocolError


class RejectReason(StrEnum):
    BAD_CRC = "bad_crc"
    BAD_LENGTH = "bad_length"
    MALFORMED = "malformed"
    UNKNOWN_ACCOUNT = "unknown_account"
    DECRYPT_FAILED = "decrypt_failed"
    OUT_OF_WINDOW = "out_of_window"
    NOT_ENCRYPTED = "not_encrypted"
    UNSUPPORTED = "unsupported"
    OVERSIZE = "oversize"


class Dc09Error(RemoteProtocolError):
    """The peer sent a DC-09 frame we cannot accept; `reason` says why."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"Dc09Error({self.reason!r}, {self.message!r})"
