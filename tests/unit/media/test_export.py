"""Clip export from recorded segments: real footage cut at keyframes (4.8 s GOPs, 12.5 fps) into
9.6 s segments, exported across a segment boundary and decoded frame by frame."""

from __future__ import annotations

import itertools
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Final

import pytest

from safecity.core.errors import Conflict, EvidenceError, NotFound, ValidationFailed
from safecity.media.export import SegmentFile, export_clip, file_sha256

from .segments_fixture import T0, Recording, cut_segments, decode, footage_file, make_hevc
from .segments_fixture import packet_times as packets_of

FRAME: Final = Fraction(2, 25)  # 80 ms at 12.5 fps


def at(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def footage() -> Path:
    return footage_file()


@pytest.fixture(scope="module", params=["fragmented", "continuing", "mpegts"])
def recording(
    request: pytest.FixtureRequest, footage: Path, tmp_path_factory: pytest.TempPathFactory
) -> Recording:
    """Four segments: frames 0-119, 120-239, 240-359 and 360-376; keyframes every 60."""
    folder = tmp_path_factory.mktemp(request.param)
    return cut_segments(footage, folder, every=2, layout=request.param)


@pytest.fixture(scope="module")
def recorded(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """The same four segments, written only as the recorder writes them (fragmented MP4)."""
    return cut_segments(footage, tmp_path_factory.mktemp("recorded"), every=2)


@pytest.fixture(scope="module")
def source_digests(footage: Path) -> list[str]:
    return decode(footage).digests


def test_a_range_from_mid_segment_across_a_boundary_starts_at_the_keyframe_before_it(
    recording: Recording, source_digests: list[str], tmp_path: Path
) -> None:
    # 12.0 s lies in segment 1 (9.6-19.2 s; keyframes at 9.6 and 14.4), 22.0 s in segment 2.
    info = export_clip(recording.segments, T0 + at(12), T0 + at(22), tmp_path / "clip.mp4", None)

    assert info.start == T0 + at(9.6)  # frame 120, the keyframe at or before 12.0 s
    assert info.end == T0 + at(22)
    shown = decode(info.path)
    expected = list(range(120, 275))  # every frame shown before 22.0 s
    assert info.frames == len(shown.times) == len(expected)
    assert shown.digests == [source_digests[n] for n in expected]
    assert shown.times == [FRAME * k for k in range(len(expected))]
    assert info.keyframes == 3  # frames 120, 180, 240
    assert info.codec == "h264"


def test_timestamps_start_at_zero_and_increase_across_the_segment_boundary(
    recording: Recording, tmp_path: Path
) -> None:
    info = export_clip(recording.segments, T0 + at(12), T0 + at(22), tmp_path / "clip.mp4", None)

    stamps = packets_of(info.path)
    assert stamps[0] == (0, 0)
    dts = [d for d, _ in stamps]
    assert all(b > a for a, b in itertools.pairwise(dts))
    gaps = {b - a for a, b in itertools.pairwise(p for _, p in stamps)}
    assert len(gaps) == 1  # one frame interval everywhere, at the 19.2 s boundary too


def test_the_digest_and_size_are_those_of_the_written_file(
    recording: Recording, tmp_path: Path
) -> None:
    info = export_clip(recording.segments, T0 + at(1), T0 + at(3), tmp_path / "clip.mp4", None)

    assert info.sha256 == file_sha256(info.path)
    assert info.size_bytes == info.path.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # no partial file left


def test_a_start_on_a_keyframe_starts_there_and_an_end_on_one_stops_before_it(
    recording: Recording, tmp_path: Path
) -> None:
    info = export_clip(
        recording.segments, T0 + at(14.4), T0 + at(19.2), tmp_path / "clip.mp4", None
    )

    assert (info.start, info.end) == (T0 + at(14.4), T0 + at(19.2))
    assert info.frames == len(decode(info.path).times) == 60
    assert info.keyframes == 1


def test_a_range_reaching_past_the_recording_ends_with_the_last_frame(
    recording: Recording, tmp_path: Path
) -> None:
    info = export_clip(recording.segments, T0 + at(28), T0 + at(60), tmp_path / "clip.mp4", None)

    assert info.start == T0 + at(24)  # keyframe 300
    assert info.frames == recording.frames - 300
    assert info.end == T0 + at(recording.frames * 0.08)


def test_a_hole_between_segments_stays_a_hole_in_the_clip_timeline(
    recorded: Recording, source_digests: list[str], tmp_path: Path
) -> None:
    first, _, third, _ = recorded.segments  # 9.6-19.2 s was never recorded

    info = export_clip([first, third], T0 + at(5), T0 + at(22), tmp_path / "clip.mp4", None)

    shown = decode(info.path)
    expected = [*range(60, 120), *range(240, 275)]
    assert shown.digests == [source_digests[n] for n in expected]
    assert shown.times[59] == FRAME * 59
    assert shown.times[60] == Fraction(144, 10)  # frame 240 at 19.2 s, 14.4 s after 4.8 s


def test_progress_rises_to_the_whole_range(recorded: Recording, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []

    export_clip(
        recorded.segments,
        T0 + at(12),
        T0 + at(22),
        tmp_path / "clip.mp4",
        lambda done, total: calls.append((done, total)),
    )

    assert {total for _, total in calls} == {10_000}
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert done[-1] == 10_000


def test_an_h265_clip_with_b_frames_exports_every_frame_of_the_range(tmp_path: Path) -> None:
    # 4 s at 25 fps, a keyframe every second, B-frames; frame n has luma 2n.
    source = make_hevc(tmp_path / "source.mp4")
    hevc = cut_segments(source, tmp_path / "segments", every=2)

    info = export_clip(hevc.segments, T0 + at(1.3), T0 + at(3.3), tmp_path / "clip.mp4", None)

    assert info.codec == "hevc"
    assert info.start == T0 + at(1)  # frame 25
    shown = decode(info.path)
    assert len(shown.times) == info.frames
    assert shown.times == [Fraction(k, 25) for k in range(len(shown.times))]
    frames = [luma // 2 for luma in shown.luma]
    wanted = list(range(25, 83))  # shown before 3.3 s
    assert frames[: len(wanted)] == wanted
    # A frame after the end is kept only when one before it refers to it.
    assert len(frames) - len(wanted) <= 2
    assert info.end == T0 + at(1) + timedelta(seconds=len(frames) / 25)


def test_a_range_without_recording_is_not_found(recorded: Recording, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no recording between"):
        export_clip(recorded.segments, T0 + at(100), T0 + at(200), tmp_path / "clip.mp4", None)
    assert not (tmp_path / "clip.mp4").exists()


def test_a_missing_segment_file_is_named(recorded: Recording, tmp_path: Path) -> None:
    gone = SegmentFile(tmp_path / "gone.mp4", T0 + at(9.6), T0 + at(19.2))
    segments = [recorded.segments[0], gone, *recorded.segments[2:]]

    with pytest.raises(EvidenceError, match=r"missing: .*gone\.mp4"):
        export_clip(segments, T0 + at(12), T0 + at(22), tmp_path / "clip.mp4", None)


def test_a_damaged_segment_file_is_an_evidence_error(recorded: Recording, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    segments = [SegmentFile(junk, T0, T0 + at(9.6))]

    with pytest.raises(EvidenceError, match=r"junk\.mp4"):
        export_clip(segments, T0 + at(1), T0 + at(2), tmp_path / "clip.mp4", None)
    assert not (tmp_path / "clip.mp4").exists()


def test_an_existing_output_is_never_overwritten(recorded: Recording, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"earlier evidence")

    with pytest.raises(Conflict):
        export_clip(recorded.segments, T0 + at(1), T0 + at(2), out, None)
    assert out.read_bytes() == b"earlier evidence"


def test_an_empty_or_naive_range_is_refused(recorded: Recording, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="end after it starts"):
        export_clip(recorded.segments, T0 + at(5), T0 + at(5), tmp_path / "clip.mp4", None)
    naive = (T0 + at(1)).replace(tzinfo=None)
    with pytest.raises(ValidationFailed, match="UTC"):
        export_clip(recorded.segments, naive, T0 + at(2), tmp_path / "clip.mp4", None)
