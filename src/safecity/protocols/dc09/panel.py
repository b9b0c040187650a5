"""The panel (transmitter) side of DC-09, ANSI/SIA DC-09-2013 §5.5 and §5.6, for simulators.

Numbers messages 1..9999 (wrapping to 1, §5.5.1.4), stamps every message with `now`, encrypts
when it has a key, and reads the receiver's ACK, NAK, DUH and RSP frames. A retransmission keeps
the sequence number, payload and timestamp, so the receiver can recognise the duplicate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from safecity.protocols.dc09.crypto import AesKey
from safecity.protocols.dc09.errors import Dc09Error
from safecity.protocols.dc09.framing import FrameDecoder
from safecity.protocols.dc09.message import Dc09Message, Token, parse_frame

REPLY_TOKENS: Final = frozenset({Token.ACK, Token.NAK, Token.DUH, Token.RSP})
LAST_SEQUENCE: Final = 9999


@dataclass(frozen=True)
class PanelReply:
    """A receiver's answer; for a NAK, `timestamp` is the receiver's clock and account is "0"."""

    token: Token
    sequence: int
    account: str
    timestamp: datetime | None


class Dc09Panel:
    """One panel account talking to one receiver."""

    def __init__(
        self,
        account: str,
        *,
        key: AesKey | None,
        receiver: str | None = None,
        line: str = "0",
        rng: random.Random,
        first_sequence: int = 1,
    ) -> None:
        if not 1 <= first_sequence <= LAST_SEQUENCE:
            raise ValueError("the first sequence number is 1..9999")
        self.account = account
        self.key = key
        self.receiver = receiver
        self.line = line
        self.rng = rng
        self._next_sequence = first_sequence
        self._decoder = FrameDecoder()

    def message(self, token: Token, data: str, now: datetime) -> tuple[Dc09Message, bytes]:
        """The next message (new sequence number, timestamp `now`) and its frame."""
        sequence = self._next_sequence
        self._next_sequence = sequence % LAST_SEQUENCE + 1
        message = Dc09Message(
            token=token,
            sequence=sequence,
            receiver=self.receiver,
            line=self.line,
            account=self.account,
            data=data,
            timestamp=now,
            encrypted=self.key is not None,
        )
        return message, message.encode(self.key, self.rng)

    def retransmission(self, msg: Dc09Message, now: datetime) -> bytes:
        """`msg` again, unchanged (same sequence, payload and timestamp; `now` is not used)."""
        del now  # the receiver de-duplicates on the original timestamp
        return msg.encode(self.key, self.rng)

    def receive_data(self, data: bytes) -> list[PanelReply]:
        """The receiver's answers completed by `data`; anything unreadable is dropped."""
        replies: list[PanelReply] = []
        for frame in self._decoder.feed(data):
            if isinstance(frame, Dc09Error):
                continue
            try:
                reply = parse_frame(frame, lambda _: self.key)
            except Dc09Error:
                continue
            if reply.token in REPLY_TOKENS:
                replies.append(
                    PanelReply(reply.token, reply.sequence, reply.account, reply.timestamp)
                )
        return replies
