"""Cut a byte stream into DC-09 frames, ANSI/SIA DC-09-2013 §5.5.1 (one frame is LF ... CR).

Tolerant of what arrives on real links: bytes between frames are skipped (pysiaalarm#36 saw
garbage before the LF), frames may be split across reads or several may arrive in one, and an
LF inside a frame restarts it. A frame longer than `max_frame` is dropped and reported.
"""

from __future__ import annotations

from typing import Final

from safecity.protocols.dc09.errors import Dc09Error, RejectReason

LF: Final = b"\n"
CR: Final = b"\r"


class FrameDecoder:
    """Feed it bytes; get back frame contents (without LF and CR) and what it threw away."""

    def __init__(self, max_frame: int = 1024) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._in_frame = False  # the buffer starts just after an LF

    def feed(self, data: bytes) -> list[bytes | Dc09Error]:
        """Every frame completed by `data`, in order, and an error for each frame dropped."""
        out: list[bytes | Dc09Error] = []
        buf = self._buffer
        buf += data
        pos = 0
        while True:
            if not self._in_frame:
                start = buf.find(LF, pos)
                if start < 0:
                    pos = len(buf)  # garbage between frames
                    break
                self._in_frame, pos = True, start + 1
            end = buf.find(CR, pos, pos + self.max_frame + 1)
            restart = buf.find(LF, pos, end if end >= 0 else pos + self.max_frame + 1)
            if restart >= 0:
                if restart > pos:
                    out.append(Dc09Error(RejectReason.MALFORMED, "frame cut short by a new LF"))
                pos = restart + 1
                continue
            if end >= 0:
                out.append(bytes(buf[pos:end]))
                self._in_frame, pos = False, end + 1
                continue
            if len(buf) - pos > self.max_frame:
                out.append(Dc09Error(RejectReason.OVERSIZE, f"no CR within {self.max_frame} bytes"))
                self._in_frame = False
                pos += self.max_frame + 1
                continue
            break
        del buf[:pos]
        return out
