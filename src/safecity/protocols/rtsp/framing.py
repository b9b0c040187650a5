"""Cut one RTSP TCP connection into messages and interleaved binary frames, RFC 2326 §4 (a
message ends after its blank line and Content-Length octets of body) and §10.12 (`$` frames).

Either side may send `$` frames between messages at any time; a message never starts with `$`
(RFC 7826 §14 says so outright). Empty lines between messages are skipped (§4 via RFC 2616
§4.1). A header block that does not end within `max_head` octets, or a body over `max_body`,
cannot be resynchronised: the decoder reports it and ignores the rest of the connection, which
the caller should close after answering. A malformed header block is reported and skipped.
The output depends only on the bytes, never on how they were split.
"""

from __future__ import annotations

from typing import Final

from safecity.protocols.rtp.interleaved import HEADER_SIZE, MAGIC, InterleavedFrame
from safecity.protocols.rtsp.errors import RtspError
from safecity.protocols.rtsp.message import RtspMessage, build_message, parse_head

TOO_LARGE: Final = 413
_BLANK_LINE: Final = b"\r\n\r\n"

Item = RtspMessage | InterleavedFrame | RtspError


class RtspDecoder:
    """Feed it bytes; get back messages, interleaved frames and errors, in order."""

    def __init__(self, max_head: int = 8192, max_body: int = 65536) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.failed = False  # framing is lost: everything after is ignored
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Item]:
        """Every item completed by `data`."""
        if self.failed:
            return []
        out: list[Item] = []
        buf = self._buffer
        buf += data
        pos = 0
        while not self.failed:
            while pos < len(buf) and buf[pos] in b"\r\n":
                pos += 1
            if pos >= len(buf):
                break
            if buf[pos] == MAGIC:
                if len(buf) - pos < HEADER_SIZE:
                    break
                end = pos + HEADER_SIZE + int.from_bytes(buf[pos + 2 : pos + 4], "big")
                if len(buf) < end:
                    break
                out.append(InterleavedFrame(buf[pos + 1], bytes(buf[pos + HEADER_SIZE : end])))
                pos = end
                continue
            taken = self._message(buf, pos, out)
            if taken == pos:
                break
            pos = taken
        del buf[:pos]
        if self.failed:
            buf.clear()
        return out

    def _message(self, buf: bytearray, pos: int, out: list[Item]) -> int:
        """Read one message at `pos` into `out`; the position after it (`pos`: need more)."""
        limit = pos + self.max_head + len(_BLANK_LINE)
        blank = buf.find(_BLANK_LINE, pos, limit)
        if blank < 0:
            if len(buf) >= limit:
                self._fail(out, RtspError(f"no end of headers within {self.max_head} octets"))
            return pos
        head_end = blank + len(_BLANK_LINE)
        try:
            start, headers, length = parse_head(bytes(buf[pos : blank + 2]))
        except RtspError as exc:
            out.append(exc)
            return head_end
        if length > self.max_body:
            self._fail(out, RtspError(f"body of {length} octets", status=TOO_LARGE))
            return pos
        if len(buf) < head_end + length:
            return pos
        body = bytes(buf[head_end : head_end + length])
        try:
            out.append(build_message(start, headers, body))
        except RtspError as exc:
            out.append(exc)
        return head_end + length

    def _fail(self, out: list[Item], error: RtspError) -> None:
        out.append(error)
        self.failed = True
