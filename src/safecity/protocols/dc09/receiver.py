"""The receiving centre's side of one DC-09 connection or UDP peer, ANSI/SIA DC-09-2013 §5.5.

Sans-IO: feed bytes with `receive_data(data, now)`, get events. A `MessageReceived` is answered
by `ack(event, now)` only after the adapter has stored it; a `FrameRejected` carries its reply:

- no reply for bad CRC, bad length or a malformed frame (we cannot trust any field of it);
- DUH for an unknown account, an unsupported token, a message that does not decrypt with the
  account's key, an encrypted message for an account without a key, or a plaintext message for
  an account that requires encryption;
- NAK (with our time) for an encrypted message whose timestamp is missing or outside the window
  (`window_past` before to `window_future` after `now`; 40 s and 20 s as pysiaalarm and
  siadc09 use, DC-09-2013 §5.5.1.9).

The window protects encrypted messages against replay; DC-09 makes their timestamp mandatory.
A plaintext message may carry a timestamp outside the window and is still accepted: without
encryption a replay cannot be told from a genuine message anyway, and panels with a wrong clock
must still get their alarms through. De-duplication of retransmissions is the caller's job (on
account, sequence, timestamp and payload).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from safecity.core.errors import LocalProtocolError
from safecity.protocols.dc09.crypto import AesKey
from safecity.protocols.dc09.errors import Dc09Error, RejectReason
from safecity.protocols.dc09.framing import FrameDecoder
from safecity.protocols.dc09.message import (
    Dc09Message,
    FrameHeader,
    Token,
    message_from_header,
    parse_header,
)
from safecity.protocols.dc09.response import build_ack, build_duh, build_nak

RECEIVABLE: Final = frozenset({Token.SIA_DCS.value, Token.ADM_CID.value, Token.NULL.value})
_DUH_REASONS: Final = frozenset(
    {RejectReason.UNKNOWN_ACCOUNT, RejectReason.DECRYPT_FAILED, RejectReason.UNSUPPORTED}
)


@dataclass(frozen=True)
class AccountKey:
    """What the receiver knows of an account: its AES key, and whether it must encrypt."""

    key: AesKey | None
    require_encryption: bool = False


@dataclass(frozen=True)
class MessageReceived:
    """A message to store, then ACK with `Dc09Receiver.ack`."""

    message: Dc09Message
    raw: bytes


@dataclass(frozen=True)
class FrameRejected:
    """A frame we refused; write `reply` (if any) back to the panel."""

    reason: RejectReason
    detail: str
    raw: bytes
    account: str | None
    reply: bytes | None


class Dc09Receiver:
    """The receiver state machine for one connection: framing, checks, decryption, replies."""

    def __init__(
        self,
        accounts: Callable[[str], AccountKey | None],
        *,
        window_past: timedelta = timedelta(seconds=40),
        window_future: timedelta = timedelta(seconds=20),
        rng: random.Random,
        max_frame: int = 1024,
    ) -> None:
        self.accounts = accounts
        self.window_past = window_past
        self.window_future = window_future
        self.rng = rng
        self.decoder = FrameDecoder(max_frame)

    def receive_data(self, data: bytes, now: datetime) -> list[MessageReceived | FrameRejected]:
        """Every message or rejection completed by `data`; never raises for any input."""
        events: list[MessageReceived | FrameRejected] = []
        for item in self.decoder.feed(data):
            if isinstance(item, Dc09Error):
                events.append(FrameRejected(item.reason, item.message, b"", None, None))
            else:
                events.append(self._frame(item, now))
        return events

    def ack(self, event: MessageReceived, now: datetime) -> bytes:
        """The ACK for a stored message, encrypted with the account's key when it was."""
        key: AesKey | None = None
        if event.message.encrypted:
            account = self.accounts(event.message.account)
            if account is None or account.key is None:
                raise LocalProtocolError(f"no key left for account {event.message.account}")
            key = account.key
        return build_ack(event.message, now, key, self.rng)

    def _frame(self, frame: bytes, now: datetime) -> MessageReceived | FrameRejected:
        try:
            header = parse_header(frame)
        except Dc09Error as exc:
            return FrameRejected(exc.reason, exc.message, frame, None, None)
        account = self.accounts(header.account)
        refused = self._refused(header, account)
        if refused is not None:
            return self._duh(header, frame, *refused)
        key = account.key if account is not None else None
        try:
            message = message_from_header(header, lambda _: key)
        except Dc09Error as exc:
            if exc.reason in _DUH_REASONS:
                return self._duh(header, frame, exc.reason, exc.message)
            return FrameRejected(exc.reason, exc.message, frame, header.account, None)
        if message.encrypted and not self._in_window(message.timestamp, now):
            detail = f"timestamp {message.timestamp} outside the window around {now}"
            return FrameRejected(
                RejectReason.OUT_OF_WINDOW, detail, frame, header.account, build_nak(now)
            )
        return MessageReceived(message, frame)

    def _in_window(self, timestamp: datetime | None, now: datetime) -> bool:
        if timestamp is None:
            return False
        return -self.window_past <= timestamp - now <= self.window_future  # never overflows

    @staticmethod
    def _refused(
        header: FrameHeader, account: AccountKey | None
    ) -> tuple[RejectReason, str] | None:
        """Why a checked header is answered with DUH before decryption, or None."""
        if header.token not in RECEIVABLE:
            return RejectReason.UNSUPPORTED, f"token {header.token}"
        if account is None:
            return RejectReason.UNKNOWN_ACCOUNT, "unknown account"
        if header.encrypted and account.key is None:
            return RejectReason.UNSUPPORTED, "encrypted message for an account without a key"
        if not header.encrypted and account.require_encryption:
            return RejectReason.NOT_ENCRYPTED, "plaintext message for an account that needs AES"
        return None

    @staticmethod
    def _duh(header: FrameHeader, frame: bytes, reason: RejectReason, detail: str) -> FrameRejected:
        return FrameRejected(reason, detail, frame, header.account, build_duh(header))
