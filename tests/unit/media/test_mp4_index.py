"""Finding the init and media parts of a recorded fragmented-MP4 file by its box headers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from safecity.media.mp4_index import Mp4LayoutError, read_layout
from safecity.media.records import SegmentRecord
from safecity.media.segment_writer import SegmentWriter

from .conftest import record_file


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def top_level(data: bytes) -> list[tuple[str, int, int]]:
    found, position = [], 0
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        found.append((kind.decode(), position, size))
        position += size
    return found


@pytest.fixture(scope="module")
def recorded(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recorded")
    reports = record_file(SegmentWriter(3, root, segment_s=9), footage)
    first = next(r for r in reports if isinstance(r, SegmentRecord))
    return root / first.path


def test_the_init_part_ends_where_the_first_fragment_starts(recorded: Path) -> None:
    data = recorded.read_bytes()
    layout = read_layout(recorded)
    boxes = top_level(data)

    first_moof = next(start for kind, start, _ in boxes if kind == "moof")
    assert layout.init_size == first_moof
    assert [kind for kind, _, _ in boxes][:2] == ["ftyp", "moov"]
    assert layout.file_size == len(data)
    assert layout.fragments == sum(1 for kind, _, _ in boxes if kind == "moof") >= 2


def test_the_media_part_ends_after_the_last_fragment_before_the_muxer_index(
    recorded: Path,
) -> None:
    data = recorded.read_bytes()
    layout = read_layout(recorded)
    last_mdat = [(start, size) for kind, start, size in top_level(data) if kind == "mdat"][-1]

    assert layout.media_offset + layout.media_size == last_mdat[0] + sum(last_mdat[1:])
    assert data[layout.media_offset + 4 : layout.media_offset + 8] == b"moof"
    assert data[layout.media_offset + layout.media_size + 4 :][:4] == b"mfra"


def test_a_64_bit_box_size_and_a_size_running_to_the_end_are_read(tmp_path: Path) -> None:
    large = struct.pack(">I4sQ", 1, b"moov", 16 + 4) + b"abcd"
    data = box(b"ftyp", b"isom") + large + box(b"moof", b"x" * 8) + struct.pack(">I4s", 0, b"mdat")
    path = tmp_path / "f.mp4"
    path.write_bytes(data + b"payload")

    layout = read_layout(path)

    assert layout.init_size == 12 + 20
    assert layout.media_size == 16 + 8 + 7


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (box(b"ftyp") + box(b"moov"), "no fragment"),
        (box(b"ftyp") + box(b"moof") + box(b"mdat"), "no moov"),
        (box(b"ftyp") + box(b"moov") + box(b"moof") + box(b"mfra"), "no mdat"),
        (box(b"ftyp") + box(b"moov") + box(b"moof") + box(b"mdat", b"xyz")[:-1], "overruns"),
        (box(b"ftyp") + box(b"moov") + b"\x00\x00", "cut short"),
    ],
)
def test_a_file_that_is_not_a_complete_fragmented_mp4_is_refused(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)

    with pytest.raises(Mp4LayoutError, match=reason):
        read_layout(path)
