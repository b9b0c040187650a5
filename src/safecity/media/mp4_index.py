"""Where the parts of a recorded fragmented-MP4 file lie, so playback can address them by byte
range without copying: the init part (`ftyp` + `moov`, everything before the first `moof`) and
the media part (the `moof` + `mdat` fragments, up to the end of the last one); and, for a file
a killed writer left, what its complete fragments hold (`read_fragments`).

Only top-level box headers are read (ISO/IEC 14496-12:2022 §4.2: a 32-bit big-endian size, a
four-character type; size 1 means a 64-bit size follows, size 0 means "to the end of the file"),
seeking from header to header, so a file of any length costs a few small reads. Boxes after the
last fragment (the muxer's `mfra` index) belong to neither part. `read_fragments` reads the
`moov` and each `moof` too (never an `mdat`), and their sample tables with `mp4_fragment`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from safecity.media.mp4_boxes import BoxError, track_info
from safecity.media.mp4_fragment import FragmentSample, TrackDefaults, fragment_samples, trex_of

HEADER_SIZE: Final = 8
LARGE_HEADER_SIZE: Final = 16
FRAGMENT_BOXES: Final = frozenset({"moof", "mdat"})
INIT_BOXES: Final = frozenset({"ftyp", "moov"})
CODECS: Final = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc"}


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


def _scan(stream: BinaryIO, file_size: int) -> tuple[list[_Header], str | None]:
    """The top-level boxes of the file, in order, up to the first that is cut short; and why
    the scan stopped before the end (None: every box is whole)."""
    found: list[_Header] = []
    position = 0
    while position < file_size:
        stream.seek(position)
        raw = stream.read(HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            return found, f"a box header at byte {position} is cut short"
        size, kind = struct.unpack(">I4s", raw)
        if size == 1:
            large = stream.read(LARGE_HEADER_SIZE - HEADER_SIZE)
            if len(large) < LARGE_HEADER_SIZE - HEADER_SIZE:
                return found, f"a 64-bit box size at byte {position} is cut short"
            (size,) = struct.unpack(">Q", large)
            minimum = LARGE_HEADER_SIZE
        else:
            minimum = HEADER_SIZE
        if size == 0:
            size = file_size - position
        if size < minimum or position + size > file_size:
            return found, f"the box at byte {position} overruns the file"
        found.append(_Header(kind.decode("latin-1"), position, position + size))
        position += size
    return found, None


def _headers(stream: BinaryIO, file_size: int) -> list[_Header]:
    """The top-level boxes of the file, in order (`Mp4LayoutError` if one is cut short)."""
    found, cut = _scan(stream, file_size)
    if cut is not None:
        raise Mp4LayoutError(cut)
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


@dataclass(frozen=True, slots=True)
class Fragment:
    """One complete `moof` + `mdat` pair: where it ends in the file, and its samples."""

    end: int  # one past the last octet of its mdat
    samples: tuple[FragmentSample, ...]


@dataclass(frozen=True, slots=True)
class RecordedFragments:
    """What a fragmented-MP4 file holds, read as far as it is whole: its track's codec and
    timescale, and the complete fragments from the first on, in file order."""

    codec: str  # "h264" | "hevc"
    timescale: int
    file_size: int
    fragments: tuple[Fragment, ...]
    cut: str | None  # why the rest of the file is not a complete fragment (None: nothing is)

    @property
    def end(self) -> int:
        """One past the last octet of the last complete fragment (0: there is none)."""
        return self.fragments[-1].end if self.fragments else 0

    @property
    def samples(self) -> list[FragmentSample]:
        return [sample for fragment in self.fragments for sample in fragment.samples]


def read_fragments(path: Path) -> RecordedFragments:
    """The complete fragments at the start of the file at `path`, stopping at the first box
    cut short, the first `moof` without its whole `mdat` or whose samples overrun it.
    `OSError` if it cannot be read, `Mp4LayoutError` if it has no whole init segment
    (`ftyp` + `moov` before any fragment) or a track this reader does not know."""
    with path.open("rb") as stream:
        file_size = stream.seek(0, 2)
        headers, cut = _scan(stream, file_size)
        kinds = [h.type for h in headers]
        first = kinds.index("moof") if "moof" in kinds else len(kinds)
        if "moov" not in kinds[:first]:
            raise Mp4LayoutError(cut or "the file has no moov before its first fragment")
        moov = headers[kinds.index("moov")]
        init = _read(stream, headers[0].start, moov.end)
        try:
            track = track_info(init)
            defaults = trex_of(init, track.track_id)
        except (BoxError, IndexError, struct.error) as exc:  # a field past its box
            raise Mp4LayoutError(f"the init segment cannot be read: {exc}") from None
        codec = CODECS.get(track.codec.split(".", 1)[0])
        if codec is None:
            raise Mp4LayoutError(f"a track of codec {track.codec!r} is not a recording")
        if track.timescale == 0:
            raise Mp4LayoutError("the track has no timescale")
        fragments, stop = _fragments(stream, headers[first:], track.track_id, defaults)
    return RecordedFragments(codec, track.timescale, file_size, tuple(fragments), stop or cut)


def _fragments(
    stream: BinaryIO, headers: list[_Header], track_id: int, defaults: TrackDefaults
) -> tuple[list[Fragment], str | None]:
    """The complete fragments among `headers` (from the first `moof`), and why the rest is
    not one (None: it is the muxer's index, or nothing)."""
    found: list[Fragment] = []
    decode_time = 0
    at = 0
    while at < len(headers) and headers[at].type == "moof":
        moof = headers[at]
        if at + 1 >= len(headers) or headers[at + 1].type != "mdat":
            return found, f"the fragment at byte {moof.start} has no whole mdat"
        mdat = headers[at + 1]
        data = _read(stream, moof.start, moof.end)
        try:
            samples = fragment_samples(
                data, track_id, defaults, decode_time, (moof.start, mdat.end)
            )
        except BoxError as exc:
            return found, f"the fragment at byte {moof.start} cannot be read: {exc}"
        if samples:
            last = samples[-1]
            decode_time = last.decode_time + last.duration
            found.append(Fragment(mdat.end, tuple(samples)))
        at += 2
    return found, None


def _read(stream: BinaryIO, start: int, end: int) -> bytes:
    stream.seek(start)
    return stream.read(end - start)
