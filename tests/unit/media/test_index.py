"""The recording index service: timelines with their gaps, and evidence locks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path, PurePosixPath

import pytest

from safecity.core.errors import NotFound, ValidationFailed
from safecity.media.index import RecordingIndex
from safecity.media.records import GapCause, GapRecord, SegmentRecord
from safecity.store.db import Database
from tests.unit.media.conftest import T0


def segment(camera: int, start_s: float, end_s: float) -> SegmentRecord:
    start = T0 + timedelta(seconds=start_s)
    return SegmentRecord(
        camera_id=camera,
        start=start,
        end=T0 + timedelta(seconds=end_s),
        bytes=1234,
        path=PurePosixPath(str(camera), f"{start_s}.mp4"),
        codec="hevc",
        frames=250,
        keyframes=(0.0, 2.0, 4.0),
    )


async def test_a_timeline_gives_segments_and_gaps_of_the_range(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    for start in (0, 10, 40):
        await index.add_segment(segment(5, start, start + 10))
    await index.add_gap(
        GapRecord(5, T0 + timedelta(seconds=20), T0 + timedelta(seconds=40), GapCause.SOURCE_LOST)
    )
    await index.add_segment(segment(6, 0, 60))

    timeline = await index.timeline(5, T0 + timedelta(seconds=5), T0 + timedelta(seconds=45))

    assert [s.record for s in timeline.segments] == [segment(5, s, s + 10) for s in (0, 10, 40)]
    assert [g.cause for g in timeline.gaps] == [GapCause.SOURCE_LOST]
    assert timeline.recorded_s == 20.0  # 5..20 and 40..45
    assert index.file_of(timeline.segments[0].record) == tmp_path / "5" / "0.mp4"


async def test_last_end_resumes_where_the_camera_stopped(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    await index.add_segment(segment(5, 0, 10))

    assert await index.last_end(5) == T0 + timedelta(seconds=10)
    assert await index.last_end(6) is None


async def test_locks_are_listed_and_removed(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    lock = await index.lock(5, T0, T0 + timedelta(minutes=2), reason="case 12", by="op", at=T0)

    assert await index.locks(5, T0, T0 + timedelta(hours=1)) == [lock]
    await index.unlock(lock.id)
    assert await index.locks(5, T0, T0 + timedelta(hours=1)) == []
    with pytest.raises(NotFound):
        await index.unlock(lock.id)


async def test_an_empty_range_is_refused(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)

    with pytest.raises(ValidationFailed):
        await index.timeline(5, T0, T0)
    with pytest.raises(ValidationFailed):
        await index.lock(5, T0, T0, reason="r", by="op", at=T0)


async def test_a_recovered_segment_splits_the_gap_it_falls_in(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    await index.add_gap(GapRecord(5, T0, T0 + timedelta(seconds=60), GapCause.RESTART))
    await index.add_gap(GapRecord(6, T0, T0 + timedelta(seconds=60), GapCause.RESTART))

    found = await index.add_recovered(segment(5, 20, 30), timedelta(milliseconds=1))

    assert found is not None
    assert found.record == segment(5, 20, 30)
    timeline = await index.timeline(5, T0, T0 + timedelta(minutes=2))
    assert [s.id for s in timeline.segments] == [found.id]
    assert [(g.start, g.end, g.cause) for g in timeline.gaps] == [
        (T0, T0 + timedelta(seconds=20), GapCause.RESTART),
        (T0 + timedelta(seconds=30), T0 + timedelta(seconds=60), GapCause.RESTART),
    ]
    other = await index.timeline(6, T0, T0 + timedelta(minutes=2))  # another camera's stays
    assert [(g.start, g.end) for g in other.gaps] == [(T0, T0 + timedelta(seconds=60))]


async def test_a_recovered_segment_moves_past_an_overlap_within_the_slack_only(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    await index.add_segment(segment(5, 0, 10.0004))
    slack = timedelta(milliseconds=1)

    moved = await index.add_recovered(segment(5, 10, 20), slack)
    refused = await index.add_recovered(segment(5, 19.99, 25), slack)

    assert moved is not None
    shift = timedelta(microseconds=400)
    assert (moved.record.start, moved.record.end) == (
        T0 + timedelta(seconds=10) + shift,
        T0 + timedelta(seconds=20) + shift,
    )
    assert refused is None
    assert len((await index.timeline(5, T0, T0 + timedelta(minutes=1))).segments) == 2


async def test_segments_added_together_get_their_ids_in_the_order_given(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    first = await index.add_segment(segment(5, 0, 10))
    together = [segment(5, 10, 20), segment(6, 0, 10), segment(5, 20, 30)]
    ids = await index.add_segments(together)

    assert len(set(ids)) == 3
    assert first not in ids
    five = await index.timeline(5, T0, T0 + timedelta(minutes=1))
    assert [s.id for s in five.segments] == [first, ids[0], ids[2]]
    assert [s.record for s in five.segments] == [segment(5, 0, 10), together[0], together[2]]
    six = await index.timeline(6, T0, T0 + timedelta(minutes=1))
    assert [(s.id, s.record) for s in six.segments] == [(ids[1], together[1])]
