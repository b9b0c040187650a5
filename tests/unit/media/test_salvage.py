"""Crash salvage: segment files a killed writer left, cut back to their complete fragments and
indexed like closed segments, or deleted when nothing complete is left; with both muxers'
files, PyAV's and the native one's, H.264 and H.265 with B-frames."""

from __future__ import annotations

import itertools
import multiprocessing
import struct
import time
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import av
import pytest

from safecity.media.index import RecordingIndex
from safecity.media.mp4_boxes import boxes, find
from safecity.media.mp4_index import read_layout
from safecity.media.records import GapCause, GapRecord, SegmentRecord, WriterReport
from safecity.media.salvage import Salvage, recover, segment_files
from safecity.media.segment_writer import SegmentWriter
from safecity.store.db import Database
from tests.unit.media.conftest import T0, decoded_frames, frame_s, record_file

if TYPE_CHECKING:
    from av.packet import Packet
    from av.video.stream import VideoStream

CAMERA = 3
KILL_AT = 150  # packets: two and a half GOPs of the footage


@pytest.fixture(params=["pyav", "native"])
def native(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "native")


def segments(reports: list[WriterReport]) -> list[SegmentRecord]:
    return [r for r in reports if isinstance(r, SegmentRecord)]


def fragment_ends(path: Path) -> list[int]:
    """Where each `moof` + `mdat` pair of a whole file ends (read with the box walker)."""
    top = list(boxes(path.read_bytes()))
    return [b.end for a, b in itertools.pairwise(top) if (a.type, b.type) == ("moof", "mdat")]


def first_segment(footage: Path, root: Path, *, native: bool) -> SegmentRecord:
    """The footage recorded with 20 s segments, the rest removed: the first holds three GOPs
    of 4.8 s."""
    writer = SegmentWriter(CAMERA, root, segment_s=20)
    first, *rest = segments(record_file(writer, footage, native=native))
    for segment in rest:
        (root / segment.path).unlink()
    return first


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.mp4"))


def record_until_killed(root: str, source: str, native: bool, ready: Connection) -> None:
    """(In a spawned process.) Record `source` in 30 s segments; hang before packet KILL_AT."""

    def hook(index: int, packet: Packet[VideoStream]) -> None:
        if index == KILL_AT:
            ready.send(index)
            time.sleep(60)

    writer = SegmentWriter(CAMERA, Path(root), segment_s=30)
    record_file(writer, Path(source), hook=hook, native=native)


def test_a_writer_killed_mid_segment_leaves_its_complete_fragments(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    context = multiprocessing.get_context("spawn")
    waiting, ready = context.Pipe(duplex=False)
    process = context.Process(
        target=record_until_killed, args=(str(tmp_path), str(footage), native, ready), daemon=True
    )
    process.start()
    try:
        assert waiting.poll(60)
    finally:
        process.kill()  # SIGKILL: nothing of the writer's is closed or flushed
        process.join()
    [path] = tmp_path.rglob("*.mp4")

    record = recover(tmp_path, PurePosixPath(path.relative_to(tmp_path).as_posix()), CAMERA)

    assert record is not None
    assert 120 <= record.frames < KILL_AT  # every GOP done (60 frames each) was on disk
    assert record.frames == decoded_frames(path)
    assert record.keyframes[:2] == (0.0, 4.8)
    assert record.duration_s == pytest.approx(record.frames * frame_s(footage), abs=1e-6)


def test_a_closed_file_that_was_never_indexed_salvages_to_the_writers_record(
    footage: Path, hevc_clip: Path, tmp_path: Path, native: bool
) -> None:
    for number, source in enumerate((footage, hevc_clip)):  # H.265 with B-frames too
        root = tmp_path / str(number)
        written = segments(
            record_file(SegmentWriter(CAMERA, root, segment_s=1.5), source, native=native)
        )
        for segment in written:
            size = (root / segment.path).stat().st_size

            assert recover(root, segment.path, CAMERA) == segment
            assert (root / segment.path).stat().st_size == size  # nothing cut


@pytest.mark.parametrize("inside", [False, True], ids=["at_the_boundary", "inside_the_next"])
def test_a_file_cut_after_k_fragments_keeps_those_k(
    footage: Path, tmp_path: Path, native: bool, inside: bool
) -> None:
    segment = first_segment(footage, tmp_path, native=native)
    path = tmp_path / segment.path
    data = path.read_bytes()
    ends = fragment_ends(path)
    assert len(ends) >= 3
    step = frame_s(footage)
    for kept in range(1, len(ends)):
        cut = ends[kept - 1] + (ends[kept] - ends[kept - 1]) // 2 if inside else ends[kept - 1]
        path.write_bytes(data[:cut])

        record = recover(tmp_path, segment.path, CAMERA)

        assert record is not None
        assert path.stat().st_size == record.bytes == ends[kept - 1]  # the partial one is cut
        assert record.frames == decoded_frames(path)  # the salvaged file still plays
        assert record.start == segment.start
        assert record.duration_s == pytest.approx(record.frames * step, abs=1e-6)
        assert record.keyframes == segment.keyframes[: len(record.keyframes)]
        assert read_layout(path).fragments == kept  # playback addresses it as any segment


@pytest.mark.parametrize(
    "where", ["empty", "inside_the_init", "init_only", "inside_the_first_fragment"]
)
def test_a_file_with_no_complete_fragment_is_deleted(
    footage: Path, tmp_path: Path, native: bool, where: str
) -> None:
    segment = first_segment(footage, tmp_path, native=native)
    path = tmp_path / segment.path
    data = path.read_bytes()
    init = next(b.start for b in boxes(data) if b.type == "moof")
    first_end = fragment_ends(path)[0]
    cut = {
        "empty": 0,
        "inside_the_init": init // 2,
        "init_only": init,
        "inside_the_first_fragment": first_end - 1,
    }[where]
    path.write_bytes(data[:cut])

    assert recover(tmp_path, segment.path, CAMERA) is None
    assert not path.exists()
    assert not (tmp_path / str(CAMERA)).exists()  # emptied folders pruned, as retention does


def test_samples_running_past_their_mdat_end_the_salvage_at_that_fragment(
    footage: Path, tmp_path: Path
) -> None:
    segment = first_segment(footage, tmp_path, native=True)
    path = tmp_path / segment.path
    data = bytearray(path.read_bytes())
    ends = fragment_ends(path)
    trun = find(bytes(data), ("moof", "traf", "trun"), ends[0])  # the second fragment's
    assert trun is not None
    # version/flags, count, data offset, then the first sample's duration and size
    struct.pack_into(">I", data, trun.payload + 16, 0x7FFFFFFF)
    path.write_bytes(bytes(data))

    record = recover(tmp_path, segment.path, CAMERA)

    assert record is not None
    assert path.stat().st_size == ends[0]
    assert record.frames == decoded_frames(path)


def test_an_unreadable_file_is_deleted(tmp_path: Path) -> None:
    relative = Path(str(CAMERA), "2026", "03", "01", "20260301T080000.000Z.mp4")
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_bytes(b"\x00\x00\x00\x10ftypisom" + b"garbage" * 100)

    files = segment_files(tmp_path, CAMERA, None)
    assert [f.as_posix() for f in files] == [relative.as_posix()]
    assert recover(tmp_path, files[0], CAMERA) is None
    assert not (tmp_path / relative).exists()


def test_segment_files_are_listed_by_start_and_skip_foreign_names(tmp_path: Path) -> None:
    day = tmp_path / str(CAMERA) / "2026" / "03" / "01"
    day.mkdir(parents=True)
    names = [
        "20260301T080010.000Z-10.mp4",
        "20260301T080000.500Z.mp4",
        "20260301T080010.000Z.mp4",
        "20260301T080010.000Z-2.mp4",
        "notes.mp4",
        "20260301T080020.000Z.ts",
    ]
    for name in names:
        (day / name).write_bytes(b"")
    (tmp_path / str(CAMERA) / "2026" / "02" / "28").mkdir(parents=True)
    (tmp_path / str(CAMERA) / "2026" / "02" / "28" / "20260228T235959.000Z.mp4").write_bytes(b"")

    listed = [p.name for p in segment_files(tmp_path, CAMERA, None)]
    recent = [p.name for p in segment_files(tmp_path, CAMERA, T0 + timedelta(seconds=5))]

    assert listed == [
        "20260228T235959.000Z.mp4",
        "20260301T080000.500Z.mp4",
        "20260301T080010.000Z.mp4",
        "20260301T080010.000Z-2.mp4",
        "20260301T080010.000Z-10.mp4",
    ]
    assert recent == listed[2:]


async def test_a_dead_writers_file_is_indexed_after_the_last_segment_and_others_left_alone(
    db: Database, footage: Path, tmp_path: Path, native: bool
) -> None:
    index = RecordingIndex(db, tmp_path)
    written = segments(
        record_file(SegmentWriter(CAMERA, tmp_path, segment_s=10), footage, native=native)
    )
    first, killed, late = written
    await index.add_segment(first)
    (tmp_path / late.path).unlink()  # the writer died in `killed`: it never opened `late`
    killed_file = tmp_path / killed.path
    ends = fragment_ends(killed_file)
    killed_file.write_bytes(killed_file.read_bytes()[: ends[-2] + 100])
    before = (tmp_path / first.path).read_bytes()

    salvaged = await Salvage(index).camera(CAMERA)

    assert [s.record.path for s in salvaged] == [killed.path]
    record = salvaged[0].record
    assert record.start == killed.start == first.end
    assert record.end < killed.end
    assert record.frames == decoded_frames(killed_file)
    assert (tmp_path / first.path).read_bytes() == before  # the indexed file is left alone
    assert await index.last_end(CAMERA) == record.end
    timeline = await index.timeline(CAMERA, T0, T0 + timedelta(minutes=1))
    assert [s.record for s in timeline.segments] == [first, record]
    assert files_under(tmp_path) == sorted(s.record.path.as_posix() for s in timeline.segments)
    assert await Salvage(index).camera(CAMERA) == []  # once indexed, found no more


async def test_a_name_cut_to_the_millisecond_starts_at_the_end_of_the_segment_before(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    start = T0 + timedelta(microseconds=400)  # the writer anchors at arrival, to the µs
    first, second, _third = segments(
        record_file(SegmentWriter(CAMERA, tmp_path, segment_s=10), footage, at=start)
    )
    assert second.path.name == "20260301T080014.400Z.mp4"  # 14.4004 s, cut to the ms
    await index.add_segment(first)

    salvaged = await Salvage(index).camera(CAMERA)

    assert salvaged[0].record.start == second.start == first.end
    assert salvaged[0].record == second
    assert salvaged[1].record.start == salvaged[0].record.end  # the third follows the second


async def test_an_older_file_fills_its_hole_and_the_gap_over_it_is_carved_back(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    first, lost, last = segments(
        record_file(SegmentWriter(CAMERA, tmp_path, segment_s=10), footage)
    )
    await index.add_segment(first)
    await index.add_segment(last)
    hole = GapRecord(CAMERA, first.end, last.start, GapCause.SOURCE_LOST)
    await index.add_gap(hole)  # as a restart before salvage told the crash
    lost_file = tmp_path / lost.path
    lost_file.write_bytes(lost_file.read_bytes()[: fragment_ends(lost_file)[1]])

    salvaged = await Salvage(index).camera(CAMERA)

    assert [s.record.path for s in salvaged] == [lost.path]
    found = salvaged[0].record
    assert found.start == lost.start
    assert found.end == lost.start + timedelta(seconds=9.6)  # two GOPs of 4.8 s
    timeline = await index.timeline(CAMERA, T0, T0 + timedelta(minutes=1))
    assert [s.record for s in timeline.segments] == [first, found, last]
    # what no segment covers keeps its gap, and its cause
    assert list(timeline.gaps) == [GapRecord(CAMERA, found.end, last.start, GapCause.SOURCE_LOST)]


async def test_a_file_overlapping_an_indexed_segment_is_left_unindexed(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    first, second, third = segments(
        record_file(SegmentWriter(CAMERA, tmp_path, segment_s=10), footage)
    )
    (tmp_path / third.path).unlink()
    await index.add_segment(first)
    inside = tmp_path / first.path.with_name("20260301T080001.000Z.mp4")  # 1 s into `first`
    (tmp_path / second.path).rename(inside)

    assert await Salvage(index).camera(CAMERA) == []
    assert inside.exists()
    assert [s.record for s in (await index.timeline(CAMERA, T0, second.end)).segments] == [first]


def test_a_salvaged_pyav_file_decodes_every_frame_it_lists(footage: Path, tmp_path: Path) -> None:
    segment = first_segment(footage, tmp_path, native=False)
    path = tmp_path / segment.path
    ends = fragment_ends(path)
    path.write_bytes(path.read_bytes()[: ends[1] + 7])

    record = recover(tmp_path, segment.path, CAMERA)

    assert record is not None
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == record.frames == 120  # two GOPs of 60
    assert frames[0].key_frame
