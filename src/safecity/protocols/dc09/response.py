"""The receiver's answers, ANSI/SIA DC-09-2013 §5.5.2: ACK, NAK and DUH, built exactly.

- ACK echoes sequence, receiver, line and account; it is encrypted (`*ACK`, with a timestamp)
  exactly when the message it answers was (§5.5.2.1). A plain ACK carries no timestamp.
- NAK is `"NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY`: never encrypted, it names no message and
  carries the receiver's own time so the panel can correct its clock (§5.5.2.2).
- DUH echoes sequence, receiver, line and account, unencrypted, without timestamp (§5.5.2.3).

Absent fields are left out, never written as text (home-assistant/core#180511: `RNone`).
"""

from __future__ import annotations

import random
from datetime import datetime

from safecity.protocols.dc09.crypto import AesKey
from safecity.protocols.dc09.message import NO_ACCOUNT, Dc09Message, FrameHeader, Token


def build_ack(msg: Dc09Message, now: datetime, key: AesKey | None, rng: random.Random) -> bytes:
    """The ACK for `msg`: send it only after the message is durably stored."""
    ack = Dc09Message(
        token=Token.ACK,
        sequence=msg.sequence,
        receiver=msg.receiver,
        line=msg.line,
        account=msg.account,
        timestamp=now if msg.encrypted else None,
        encrypted=msg.encrypted,
    )
    return ack.encode(key, rng)


def build_nak(now: datetime) -> bytes:
    """The NAK for an encrypted message whose timestamp lies outside the window."""
    nak = Dc09Message(
        token=Token.NAK, sequence=0, receiver="0", line="0", account=NO_ACCOUNT, timestamp=now
    )
    return nak.encode()


def build_duh(msg_or_header: Dc09Message | FrameHeader) -> bytes:
    """The DUH for a well-formed message we cannot process."""
    duh = Dc09Message(
        token=Token.DUH,
        sequence=msg_or_header.sequence,
        receiver=msg_or_header.receiver,
        line=msg_or_header.line,
        account=msg_or_header.account,
    )
    return duh.encode()
