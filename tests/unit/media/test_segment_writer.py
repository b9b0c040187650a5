"""The segment writer: remuxed fMP4 segments cut at keyframes, timed by media time, breaks
reported as gaps; every behaviour with both muxers, PyAV's and the native one."""

from __future__ import annotations

import itertools
import os
import resource
import signal
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest
from av.packet import Packet
from av.video.stream import VideoStream

from safecity.media.records import DiskLow, GapCause, GapRecord, SegmentRecord, WriterReport
from safecity.media.retention import remove_file
from safecity.media.segment_format import Sample
from safecity.media.segment_writer import SegmentWriter, segment_path, segment_start
from tests.unit.media.conftest import (
    T0,
    Feed,
    decoded_frames,
    frame_s,
    media_duration,
    record_file,
)


@pytest.fixture(params=["pyav", "native"])
def native(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "native")


def segments(reports: list[WriterReport]) -> list[SegmentRecord]:
    return [r for r in reports if isinstance(r, SegmentRecord)]


def gaps(reports: list[WriterReport]) -> list[GapRecord]:
    return [r for r in reports if isinstance(r, GapRecord)]


def assert_contiguous(found: list[SegmentRecord]) -> None:
    for before, after in itertools.pairwise(found):
        assert before.end == after.start
        assert before.start < before.end


def test_footage_becomes_contiguous_segments_covering_the_clip(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    writer = SegmentWriter(7, tmp_path, segment_s=10)

    reports = record_file(writer, footage, native=native)

    found = segments(reports)
    assert len(found) == 3  # keyframes every 4.8 s: cuts at 14.4 s and 28.8 s
    assert gaps(reports) == []
    assert found[0].start == T0
    assert_contiguous(found)
    total = sum(s.duration_s for s in found)
    assert abs(total - media_duration(footage)) <= frame_s(footage)
    assert writer.last_end == found[-1].end


def test_each_segment_file_decodes_its_frame_count(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    found = segments(record_file(SegmentWriter(7, tmp_path, segment_s=10), footage, native=native))

    for segment in found:
        assert decoded_frames(tmp_path / segment.path) == segment.frames
    assert sum(s.frames for s in found) == 377


def test_segments_start_at_a_keyframe_and_list_their_keyframes(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    found = segments(record_file(SegmentWriter(7, tmp_path, segment_s=10), footage, native=native))

    assert [s.keyframes for s in found] == [(0.0, 4.8, 9.6), (0.0, 4.8, 9.6), (0.0,)]
    assert {s.codec for s in found} == {"h264"}


def test_segment_files_lie_under_camera_and_date(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    first = segments(record_file(SegmentWriter(7, tmp_path, segment_s=10), footage, native=native))[
        0
    ]

    assert first.path.as_posix() == "7/2026/03/01/20260301T080000.000Z.mp4"
    assert first.path == segment_path(7, T0)
    assert (tmp_path / first.path).stat().st_size == first.bytes


def test_a_segment_is_fragmented_mp4(footage: Path, tmp_path: Path, native: bool) -> None:
    first = segments(record_file(SegmentWriter(7, tmp_path, segment_s=10), footage, native=native))[
        0
    ]

    head = (tmp_path / first.path).read_bytes()
    assert b"moof" in head
    assert b"mvex" in head[:4096]  # the empty moov announces fragments


def test_a_corrupt_packet_closes_the_segment_and_recording_continues(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    def corrupt_one(index: int, packet: Packet[VideoStream]) -> None:
        if index == 100:  # frame 100, between the keyframes at 60 and 120
            packet.is_corrupt = True

    reports = record_file(
        SegmentWriter(7, tmp_path, segment_s=10), footage, hook=corrupt_one, native=native
    )

    found = segments(reports)
    holes = gaps(reports)
    assert [g.cause for g in holes] == [GapCause.CORRUPT_STREAM]
    hole = holes[0]
    assert found[0].end == hole.start == T0 + timedelta(seconds=100 * 0.08)
    assert found[1].start == hole.end == T0 + timedelta(seconds=120 * 0.08)
    assert_contiguous(found[1:])
    for segment in found:
        assert decoded_frames(tmp_path / segment.path) == segment.frames
    covered = sum(s.duration_s for s in found) + hole.duration_s
    assert abs(covered - media_duration(footage)) <= frame_s(footage)
    assert sum(s.frames for s in found) == 377 - 20  # 100..119 were not recorded


def test_a_timestamp_jump_starts_a_new_segment_and_records_the_gap(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    writer = SegmentWriter(7, tmp_path, segment_s=60)
    reports: list[WriterReport] = []
    with av.open(str(footage)) as container:
        stream = container.streams.video[0]
        feed = Feed(writer, stream, native=native)
        reports += feed.begin()
        for index, packet in enumerate(container.demux(stream)):
            arrived = T0 + timedelta(seconds=index * 0.08)
            if index >= 120 and packet.pts is not None:
                packet.pts += 25_000 * 30  # the camera's clock leapt 30 s ahead
                packet.dts = packet.pts
                arrived += timedelta(seconds=3)  # and the packets came 3 s late
            reports += feed(packet, arrived)
        reports += writer.close()

    found = segments(reports)
    assert len(found) == 2
    assert gaps(reports) == [GapRecord(7, found[0].end, found[1].start, GapCause.TIMESTAMP_JUMP)]
    assert found[0].end == T0 + timedelta(seconds=9.6)
    assert found[1].start == T0 + timedelta(seconds=12.6)  # re-anchored at its arrival


def test_a_restarted_writer_reports_a_restart_gap(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    last = T0 - timedelta(minutes=5)
    writer = SegmentWriter(7, tmp_path, segment_s=10, resume_after=last)

    reports = record_file(writer, footage, native=native)

    assert gaps(reports) == [GapRecord(7, last, T0, GapCause.RESTART)]


def test_a_source_lost_and_back_is_one_gap(footage: Path, tmp_path: Path, native: bool) -> None:
    writer = SegmentWriter(7, tmp_path, segment_s=10)
    first = record_file(writer, footage, close=False, native=native)
    first += writer.interrupt(GapCause.SOURCE_LOST)
    back = T0 + timedelta(seconds=50)

    second = record_file(writer, footage, at=back, native=native)

    assert gaps(first) == []
    assert gaps(second) == [GapRecord(7, segments(first)[-1].end, back, GapCause.SOURCE_LOST)]
    assert segments(second)[0].start == back


def test_a_source_that_returns_early_never_overlaps_the_last_segment(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    writer = SegmentWriter(7, tmp_path, segment_s=10)
    first = record_file(writer, footage, close=False, native=native)
    first += writer.interrupt(GapCause.SOURCE_LOST)

    second = record_file(
        writer, footage, at=T0 + timedelta(seconds=1), native=native
    )  # before first ended

    assert segments(second)[0].start == segments(first)[-1].end
    assert gaps(second) == []


def test_low_free_disk_is_reported_when_a_segment_opens(
    footage: Path, tmp_path: Path, native: bool
) -> None:
    writer = SegmentWriter(
        7, tmp_path, segment_s=10, min_free_bytes=1 << 30, free_bytes=lambda _root: 1 << 20
    )

    reports = record_file(writer, footage, native=native)

    assert [r for r in reports if isinstance(r, DiskLow)] == [DiskLow(7, 1 << 20)] * 3
    assert len(segments(reports)) == 3  # recording goes on: retention frees the space


def _record_under_a_size_limit(
    footage: Path, tmp_path: Path, *, lifted_at: int, native: bool
) -> tuple[list[WriterReport], int]:
    """Record `footage` with a real refusal: at frame 100 the process's file size limit is set
    3,000 octets past the open file, as on a disk that fills; from frame `lifted_at` on files may
    grow again. The reports, and the limit set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limits: list[int] = []

    def refuse(index: int, packet: Packet[VideoStream]) -> None:
        if index == 100:
            (open_file,) = tmp_path.rglob("*.mp4")
            limits.append(open_file.stat().st_size + 3000)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits[0], hard))
        elif index == lifted_at:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel ends the process
    try:
        reports = record_file(
            SegmentWriter(7, tmp_path, segment_s=10), footage, hook=refuse, native=native
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, ignored)
    return reports, limits[0]


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_write_the_disk_refuses_keeps_the_segment_up_to_its_last_whole_fragment(
    footage: Path, tmp_path: Path
) -> None:
    # The next fragment's writev is cut short and the one after fails (EFBIG); the limit is
    # lifted at frame 118, before the keyframe at 120.
    reports, limit = _record_under_a_size_limit(footage, tmp_path, lifted_at=118, native=True)

    found = segments(reports)
    (hole,) = gaps(reports)
    assert hole.cause is GapCause.DISK_FULL
    assert any(isinstance(r, DiskLow) for r in reports)  # retention is told
    first = found[0]
    assert first.start == T0  # kept, not dropped whole
    assert 100 - 13 <= first.frames < 100 + 13  # up to the last fragment the disk took
    assert (tmp_path / first.path).stat().st_size <= limit
    assert first.end == hole.start == T0 + timedelta(seconds=first.frames * 0.08)
    assert max(first.keyframes) < first.duration_s
    assert found[1].start == hole.end == T0 + timedelta(seconds=120 * 0.08)  # the next keyframe
    assert_contiguous(found[1:])
    for segment in found:
        assert decoded_frames(tmp_path / segment.path) == segment.frames


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_write_the_disk_refuses_through_pyav_is_a_disk_full_gap(
    footage: Path, tmp_path: Path
) -> None:
    # FFmpeg's muxer meets the same refusal (EFBIG from the file size limit, as EDQUOT or
    # ENOSPC would come): the writer must be told it is the disk, not a corrupt packet, so
    # that retention hears of it and the hole is named for what it was. FFmpeg writes a
    # fragment at the keyframe after it (every 60 frames here), so the limit set at frame 100
    # refuses the fragment written at 120 and is lifted at 150, before the keyframe at 180.
    reports, _limit = _record_under_a_size_limit(footage, tmp_path, lifted_at=150, native=False)

    (hole,) = gaps(reports)
    assert hole.cause is GapCause.DISK_FULL
    assert any(isinstance(r, DiskLow) for r in reports)
    found = segments(reports)
    assert all(s.end <= hole.start for s in found if s.start < hole.start)
    after = [s for s in found if s.start >= hole.end]
    assert after[0].start == hole.end == T0 + timedelta(seconds=180 * 0.08)  # next keyframe
    assert_contiguous(after)
    for segment in found:  # what was kept before the hole says what it holds
        assert decoded_frames(tmp_path / segment.path) == segment.frames


def _in_page_cache(path: Path, offset: int) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(1)], offset, os.RWF_NOWAIT)
    except BlockingIOError:
        return False
    except OSError as exc:
        pytest.skip(f"cannot ask the page cache without reading: {exc}")
    finally:
        os.close(fd)
    return True


def _written_out(root: Path) -> None:
    """Every segment file under `root` on the disk, as the kernel would in its own time."""
    for path in root.rglob("*.mp4"):
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="needs preadv2's RWF_NOWAIT")
def test_a_native_segment_leaves_what_is_on_disk_out_of_the_page_cache(
    footage: Path, tmp_path: Path
) -> None:
    # At frame 150 the open segment is written out (as the kernel would in its own time); the
    # fragment written after it must release those pages, init segment first.
    def write_out(index: int, _packet: Packet[VideoStream]) -> None:
        if index == 150:
            _written_out(tmp_path)

    writer = SegmentWriter(7, tmp_path, segment_s=60)
    record_file(writer, footage, hook=write_out, close=False, native=True)

    (path,) = tmp_path.rglob("*.mp4")
    assert not _in_page_cache(path, 0)
    assert not _in_page_cache(path, path.stat().st_size // 3)
    (segment,) = segments(writer.close())
    assert decoded_frames(tmp_path / segment.path) == segment.frames == 377


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="needs preadv2's RWF_NOWAIT")
def test_a_segment_from_pyav_leaves_the_page_cache_when_the_next_one_closes(
    footage: Path, tmp_path: Path
) -> None:
    # The first segment closes at frame 180 and is written out at 200; FFmpeg's muxer cannot
    # release pages itself, so the writer does when the second segment closes (frame 360).
    def write_out(index: int, _packet: Packet[VideoStream]) -> None:
        if index == 200:
            _written_out(tmp_path)

    found = segments(record_file(SegmentWriter(7, tmp_path, segment_s=10), footage, hook=write_out))

    assert len(found) == 3
    first = tmp_path / found[0].path
    assert not _in_page_cache(first, 0)
    assert not _in_page_cache(first, first.stat().st_size // 2)
    assert decoded_frames(first) == found[0].frames


def test_hevc_is_remuxed_into_segments_that_decode(
    hevc_clip: Path, tmp_path: Path, native: bool
) -> None:
    found = segments(record_file(SegmentWriter(9, tmp_path, segment_s=1), hevc_clip, native=native))

    assert len(found) == 4
    assert {s.codec for s in found} == {"hevc"}
    assert_contiguous(found)
    assert abs(sum(s.duration_s for s in found) - 4.0) <= 0.04
    for segment in found:
        assert decoded_frames(tmp_path / segment.path) == segment.frames == 25


def test_a_codec_other_than_h264_or_h265_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mjpeg.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuvj420p"
        out.mux(stream.encode(av.VideoFrame(32, 32, "yuvj420p")))
        out.mux(stream.encode(None))
    with av.open(str(path)) as container, pytest.raises(ValueError, match="mjpeg"):
        SegmentWriter(1, tmp_path, segment_s=10).set_source(container.streams.video[0])


class _PlainFile:
    """A segment file holding the samples' bytes: all the writer's timing needs."""

    def __init__(self, target: Path) -> None:
        self._file = target.open("wb")

    def add(self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool) -> None:
        assert isinstance(sample, bytes)
        self._file.write(sample)

    def close(self, end: int | None) -> None:
        self._file.close()


class _PrunedBeforeOpen:
    """Plain files; before the first opens, its folders are pruned as retention prunes them
    (from its thread, after deleting a folder's last segment) once the writer has made them."""

    codec = "h264"
    time_base = Fraction(1, 90_000)
    frame_ticks = 3600

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pruned = False

    def open(self, target: Path) -> _PlainFile:
        if not self.pruned:
            self.pruned = remove_file(target.parent / "last-deleted.mp4", self.root)
            assert not (self.root / "7").exists()
        return _PlainFile(target)


def test_a_folder_retention_pruned_between_mkdir_and_open_is_made_again(tmp_path: Path) -> None:
    writer = SegmentWriter(7, tmp_path, segment_s=1)
    pruning = _PrunedBeforeOpen(tmp_path)
    writer.use(pruning)

    reports: list[WriterReport] = []
    for n in range(3):  # keyframes one second apart: a segment each
        at = T0 + timedelta(seconds=n)
        reports += writer.write_sample(
            b"frame", n * 90_000, n * 90_000, 90_000, keyframe=True, arrived=at
        )
    reports += writer.close()

    found = segments(reports)
    assert pruning.pruned
    assert len(found) == 3
    assert all((tmp_path / segment.path).read_bytes() == b"frame" for segment in found)


def test_a_segment_name_gives_back_its_start_to_the_millisecond() -> None:
    start = T0 + timedelta(seconds=14, microseconds=400_900)
    name = segment_path(7, start).name

    assert segment_start(name) == T0 + timedelta(seconds=14, milliseconds=400)
    assert segment_start(name.replace(".mp4", "-12.mp4")) == segment_start(name)
    for foreign in ("clip.mp4", "20260301T080014.400Z.ts", "20261301T080014.400Z.mp4"):
        assert segment_start(foreign) is None
