"""Where the parts of a recorded fragmented-MP4 file lie, so playback can address them by byte
range without copying: the init part (`ftyp` + `moov`, everything before the first `moof`) and
the media part (the `moof` + `mdat` fragments, up to the end of the last one).

Only top-level box headers are read (ISO/IEC 14496-12:2022 §4.2: a 32-bit big-endian size, a
four-character type; size 1 means a 64-bit size follows, size 0 means "to the end of the file"),
seeking from header to header, so a file of any length costs a few small reads. Boxes after the
last fragment (the muxer's `mfra` index) belong to neither part.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

HEADER_SIZE: Final = 8
LARGE_HEADER_SIZE: Final = 16
FRAGMENT_BOXES: Final = frozenset({"moof", "mdat"})
INIT_BOXES: Final = frozenset({"ftyp", "moov"})


class Mp4LayoutError(ValueError):
    """The file is not a fragmented MP4 this reader can address (cut short, no `moov`, no
    fragment)."""


@dataclass(frozen=True, slots=True)
class Mp4Layout:
    """Byte ranges of one fragmented-MP4 file: `[0, init_size)` is the init part and
    `[init_size, init_size + media_size)` the media part."""

    init_size: int
    media_size: int
    file_size: int
    fragments: int  # `moof` boxes

    @property
    def media_offset(self) -> int:
        return self.init_size


@dataclass(frozen=True, slots=True)
class _Header:
    type: str
    start: int
    end: int


def _headers(stream: BinaryIO, file_size: int) -> list[_Header]:
    """The top-level boxes of the file, in order."""
    found: list[_Header] = []
    position = 0
    while position < file_size:
        stream.seek(position)
        raw = stream.read(HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            raise Mp4LayoutError(f"a box header at byte {position} is cut short")
        size, kind = struct.unpack(">I4s", raw)
        if size == 1:
            large = stream.read(LARGE_HEADER_SIZE - HEADER_SIZE)
            if len(large) < LARGE_HEADER_SIZE - HEADER_SIZE:
                raise Mp4LayoutError(f"a 64-bit box size at byte {position} is cut short")
            (size,) = struct.unpack(">Q", large)
            minimum = LARGE_HEADER_SIZE
        else:
            minimum = HEADER_SIZE
        if size == 0:
            size = file_size - position
        if size < minimum or position + size > file_size:
            raise Mp4LayoutError(f"the box at byte {position} overruns the file")
        found.append(_Header(kind.decode("latin-1"), position, position + size))
        position += size
    return found


def _parts(headers: list[_Header]) -> tuple[int, int, int]:
    """(init size, media size, fragments) from the top-level boxes."""
    kinds = [h.type for h in headers]
    if "moof" not in kinds:
        raise Mp4LayoutError("the file has no fragment (moof)")
    first = kinds.index("moof")
    if "moov" not in kinds[:first]:
        raise Mp4LayoutError("the file has no moov before its first fragment")
    last = first
    while last + 1 < len(headers) and headers[last + 1].type in FRAGMENT_BOXES:
        last += 1
    if headers[last].type != "mdat":
        raise Mp4LayoutError("the last fragment has no mdat")
    init_size = headers[first].start
    media_size = headers[last].end - init_size
    return init_size, media_size, kinds[first : last + 1].count("moof")


def read_layout(path: Path) -> Mp4Layout:
    """The init and media parts of the fragmented MP4 at `path`. `OSError` if it cannot be
    read, `Mp4LayoutError` if it is not a complete fragmented MP4."""
    with path.open("rb") as stream:
        file_size = stream.seek(0, 2)
        headers = _headers(stream, file_size)
    init_size, media_size, fragments = _parts(headers)
    return Mp4Layout(
        init_size=init_size, media_size=media_size, file_size=file_size, fragments=fragments
    )
