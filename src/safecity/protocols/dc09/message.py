"""DC-09 messages: build and parse one frame, ANSI/SIA DC-09-2013 §5.5 (and DC-09-2021 §5.5).

```
<LF> CRC 0LLL "[*]ID" seq [Rrcvr] Lline #acct [#acct|data] [x-data]... _HH:MM:SS,MM-DD-YYYY <CR>
```
CRC (CRC-16/ARC, 4 hex) and length (`0` + 3 hex) cover the span from the opening quote of the ID
to the end of the timestamp (§5.5.1.1-2). With `*` before the ID, everything after the `[` of
the data field, x-data and timestamp included, is AES-CBC encrypted and sent as hex (§5.4). A NAK
names no account: `"NAK"0000R0L0A0[]_timestamp` (§5.5.2.2); `Dc09Message.account` is then "0".

`Dc09Message.data` is the data field without its `#acct|` prefix, which `encode` writes back.
Parsing is tolerant where peers differ (lowercase hex, a NAK with R after L, a data field
without `#acct|`, empty x-data blocks, and the literal `None` that pysiaalarm writes in place of
an absent receiver field, home-assistant/core#180511, read as no receiver) and strict about
CRC, length and characters. We never write `None`.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from safecity.core.errors import LocalProtocolError
from safecity.protocols.dc09.contact_id import parse_contact_id
from safecity.protocols.dc09.crc import crc16_arc
from safecity.protocols.dc09.crypto import AesKey, decrypt_payload, encrypt_payload
from safecity.protocols.dc09.errors import Dc09Error, RejectReason
from safecity.protocols.dc09.sia_codes import parse_sia_data
from safecity.protocols.dc09.signal import AlarmSignal


class Token(StrEnum):
    SIA_DCS = "SIA-DCS"
    ADM_CID = "ADM-CID"
    NULL = "NULL"
    ACK = "ACK"
    NAK = "NAK"
    DUH = "DUH"
    RSP = "RSP"


MAX_BODY: Final = 0xFFF  # the length field is `0` and three hex digits
NO_ACCOUNT: Final = "0"  # a NAK's `A0`
_HEX: Final = frozenset(string.hexdigits)
_FIELD_CHARS: Final = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"[", "]"}
_PRINTABLE: Final = frozenset(range(0x20, 0x7F))
_HEADER: Final = re.compile(
    r'"(\*?)([A-Z0-9-]{1,16})"([0-9]{4})(?:R([0-9A-Fa-f]{1,6})|None)?L([0-9A-Fa-f]{1,6})'
    r"#([0-9A-Fa-f]{3,16})\[",
    re.ASCII,
)
_NAK_HEADER: Final = re.compile(
    r'"(\*?)(NAK|DUH)"([0-9]{4})(?:R([0-9A-Fa-f]{1,6})|None)?L([0-9A-Fa-f]{1,6})'
    r"(?:R([0-9A-Fa-f]{1,6}))?A(0)\[",
    re.ASCII,
)
_PAYLOAD: Final = re.compile(
    r"([^\[\]]*)\]((?:\[[^\[\]]*\])*)"
    r"(?:_([0-9]{2}):([0-9]{2}):([0-9]{2}),([0-9]{2})-([0-9]{2})-([0-9]{4}))?",
    re.ASCII,
)
_XDATA: Final = re.compile(r"\[([^\[\]]*)\]")
_DATA_ACCOUNT: Final = re.compile(r"#[0-9A-Fa-f]{1,16}\|", re.ASCII)


def format_timestamp(moment: datetime) -> str:
    """`_HH:MM:SS,MM-DD-YYYY` in UTC (§5.5.1.9)."""
    t = moment.astimezone(UTC)
    return f"_{t.hour:02d}:{t.minute:02d}:{t.second:02d},{t.month:02d}-{t.day:02d}-{t.year:04d}"


def _is_hex(text: str, low: int, high: int) -> bool:
    return low <= len(text) <= high and _HEX.issuperset(text)


@dataclass(frozen=True, kw_only=True)
class Dc09Message:
    """One DC-09 message. The timestamp is normalised to UTC, whole seconds."""

    token: Token
    sequence: int
    receiver: str | None = None
    line: str = "0"
    account: str
    data: str = ""
    extended: tuple[str, ...] = ()
    timestamp: datetime | None = None
    encrypted: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= 9999:
            raise ValueError("the sequence number is 0..9999")
        if self.receiver is not None and not _is_hex(self.receiver, 1, 6):
            raise ValueError("the receiver number is 1 to 6 hex digits")
        if not _is_hex(self.line, 1, 6):
            raise ValueError("the line (prefix) number is 1 to 6 hex digits")
        no_account = self.account == NO_ACCOUNT and self.token in (Token.NAK, Token.DUH)
        if not (_is_hex(self.account, 3, 16) or no_account):
            raise ValueError("the account is 3 to 16 hex digits")
        if not _FIELD_CHARS.issuperset(self.data):
            raise ValueError("the data field is printable ASCII without [ ]")
        if any(not x or not _FIELD_CHARS.issuperset(x) for x in self.extended):
            raise ValueError("each x-data block is non-empty printable ASCII without [ ]")
        if self.encrypted and self.token in (Token.NAK, Token.DUH):
            raise ValueError("NAK and DUH are never encrypted")
        if self.timestamp is not None:
            if self.timestamp.tzinfo is None:
                raise ValueError("the timestamp must be timezone-aware (UTC)")
            utc = self.timestamp.astimezone(UTC).replace(microsecond=0)
            if not 1000 <= utc.year <= 9999:
                raise ValueError("the timestamp year has four digits")
            object.__setattr__(self, "timestamp", utc)

    @classmethod
    def parse(cls, frame: bytes, key_for: Callable[[str], AesKey | None]) -> Dc09Message:
        """`parse_frame`, as the architecture's `parse(data)` convention spells it."""
        return parse_frame(frame, key_for)

    def __bytes__(self) -> bytes:
        """The frame of a plain message (encrypted ones need `encode(key, rng)`)."""
        return self.encode()

    def signals(self) -> tuple[AlarmSignal, ...]:
        """The alarm events in the data field; () for messages that carry none."""
        if self.token is Token.ADM_CID:
            return (parse_contact_id(self.data),)
        if self.token is Token.SIA_DCS:
            return parse_sia_data(self.data)
        return ()

    def encode(self, key: AesKey | None = None, rng: random.Random | None = None) -> bytes:
        """The whole frame, LF to CR. Encrypted messages need `key`, `rng` and a timestamp."""
        account = f"A{self.account}" if self.account == NO_ACCOUNT else f"#{self.account}"
        receiver = f"R{self.receiver}" if self.receiver is not None else ""
        star = "*" if self.encrypted else ""
        header = f'"{star}{self.token}"{self.sequence:04d}{receiver}L{self.line}{account}['
        data = f"#{self.account}|{self.data}" if self.data else ""
        xdata = "".join(f"[{x}]" for x in self.extended)
        stamp = format_timestamp(self.timestamp) if self.timestamp is not None else ""
        payload = f"{data}]{xdata}{stamp}"
        if self.encrypted:
            if key is None or rng is None or self.timestamp is None:
                raise LocalProtocolError("an encrypted message needs a key, an rng and a timestamp")
            payload = encrypt_payload(key, payload, rng)
        body = (header + payload).encode("ascii")
        if len(body) > MAX_BODY:
            raise LocalProtocolError(f"a DC-09 message is at most {MAX_BODY} bytes")
        return b"\n%04X0%03X%b\r" % (crc16_arc(body), len(body), body)


@dataclass(frozen=True)
class FrameHeader:
    """The clear part of a frame, CRC and length checked: enough to answer it."""

    token: str
    encrypted: bool
    sequence: int
    receiver: str | None
    line: str
    account: str
    payload: str


def parse_header(frame: bytes) -> FrameHeader:
    """Check CRC and length and read the clear header of `frame` (the bytes between LF and CR)."""
    if len(frame) < 9:
        raise Dc09Error(RejectReason.MALFORMED, "frame too short")
    crc_text, length_text = frame[:4], frame[4:8]
    if not _HEX.issuperset(chr(c) for c in frame[:8]):
        raise Dc09Error(RejectReason.MALFORMED, "CRC or length field is not hex")
    body = frame[8:]
    if int(length_text, 16) != len(body):
        raise Dc09Error(RejectReason.BAD_LENGTH, f"length field {length_text!r}, body {len(body)}")
    if int(crc_text, 16) != crc16_arc(body):
        raise Dc09Error(RejectReason.BAD_CRC, f"CRC field {crc_text!r} does not match")
    if not _PRINTABLE.issuperset(body):
        raise Dc09Error(RejectReason.MALFORMED, "frame body is not printable ASCII")
    text = body.decode("ascii")
    match = _HEADER.match(text) or _NAK_HEADER.match(text)
    if match is None:
        raise Dc09Error(RejectReason.MALFORMED, f"bad header {text[:48]!r}")
    groups = match.groups()
    star, token, sequence, receiver, line = groups[:5]
    if len(groups) == 7:  # a NAK, perhaps with R after L as pysiaalarm writes it
        receiver = receiver if receiver is not None else groups[5]
    return FrameHeader(
        token=token,
        encrypted=star == "*",
        sequence=int(sequence),
        receiver=receiver,
        line=line,
        account=groups[-1],
        payload=text[match.end() :],
    )


def message_from_header(
    header: FrameHeader, key_for: Callable[[str], AesKey | None]
) -> Dc09Message:
    """Decrypt (if needed) and decode the payload of a checked frame header."""
    try:
        token = Token(header.token)
    except ValueError:
        raise Dc09Error(RejectReason.UNSUPPORTED, f"unsupported token {header.token!r}") from None
    payload = header.payload
    if header.encrypted:
        key = key_for(header.account)
        if key is None:
            raise Dc09Error(RejectReason.UNKNOWN_ACCOUNT, f"no key for account {header.account}")
        payload = decrypt_payload(key, payload)
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        raise Dc09Error(RejectReason.MALFORMED, f"bad data/x-data/timestamp {payload[:48]!r}")
    data = match[1]
    if data.startswith("#"):
        prefix = _DATA_ACCOUNT.match(data)
        if prefix is None:
            raise Dc09Error(RejectReason.MALFORMED, f"bad account block in data {data[:40]!r}")
        data = data[prefix.end() :]
    extended = tuple(x for x in _XDATA.findall(match[2]) if x)
    timestamp: datetime | None = None
    try:
        if match[3] is not None:
            hour, minute, second, month, day, year = (int(g) for g in match.groups()[2:])
            timestamp = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        return Dc09Message(
            token=token,
            sequence=header.sequence,
            receiver=header.receiver,
            line=header.line,
            account=header.account,
            data=data,
            extended=extended,
            timestamp=timestamp,
            encrypted=header.encrypted,
        )
    except ValueError as exc:
        raise Dc09Error(RejectReason.MALFORMED, str(exc)) from exc


def parse_frame(frame: bytes, key_for: Callable[[str], AesKey | None]) -> Dc09Message:
    """Parse one frame (the bytes between LF and CR); raises Dc09Error and nothing else."""
    return message_from_header(parse_header(frame), key_for)
