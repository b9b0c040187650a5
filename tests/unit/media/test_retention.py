"""Retention: by age, by global and per-group quota and by free disk, oldest first, never a
locked range; files first, then rows."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path, PurePosixPath

from safecity.media.index import RecordingIndex
from safecity.media.records import GapCause, GapRecord, SegmentRecord
from safecity.media.retention import GroupQuota, Retention, RetentionPolicy
from safecity.store.db import Database
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0


async def put(index: RecordingIndex, camera: int, minute: int, size: int = 100) -> SegmentRecord:
    """A one-minute segment of `size` bytes, `minute` minutes after T0, with its file."""
    start = T0 + timedelta(minutes=minute)
    path = PurePosixPath(str(camera), f"{minute:04d}.mp4")
    (index.root / path).parent.mkdir(parents=True, exist_ok=True)
    (index.root / path).write_bytes(b"x" * size)
    record = SegmentRecord(camera, start, start + timedelta(minutes=1), size, path, "h264", 1)
    await index.add_segment(record)
    return record


async def kept(index: RecordingIndex, camera: int) -> list[int]:
    """Minutes (after T0) of the camera's segments still indexed."""
    timeline = await index.timeline(camera, T0, T0 + timedelta(days=400))
    return [int((s.record.start - T0).total_seconds() // 60) for s in timeline.segments]


def at_minute(minute: int) -> FakeClock:
    return FakeClock(T0 + timedelta(minutes=minute))


async def test_segments_older_than_the_age_limit_go_with_their_files(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    records = [await put(index, 1, minute) for minute in range(5)]
    await index.add_gap(GapRecord(1, T0, T0 + timedelta(seconds=1), GapCause.SOURCE_LOST))
    retention = Retention(db, tmp_path, at_minute(63), RetentionPolicy(max_age=timedelta(hours=1)))

    result = await retention.sweep()

    assert (result.deleted, result.freed_bytes) == (2, 200)  # ended at minutes 1 and 2
    assert await kept(index, 1) == [2, 3, 4]
    assert not (tmp_path / records[0].path).exists()
    assert (tmp_path / records[2].path).exists()
    timeline = await index.timeline(1, T0, T0 + timedelta(days=1))
    assert timeline.gaps == ()


async def test_the_global_quota_deletes_the_oldest_across_cameras(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    for minute in range(5):
        await put(index, 1, minute)
        await put(index, 2, minute)
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=550))

    result = await retention.sweep()

    assert result.deleted == 5
    assert await kept(index, 1) == [3, 4]  # equal ends: the older row goes first
    assert await kept(index, 2) == [2, 3, 4]
    assert result.freed_bytes == 500


async def test_a_locked_range_survives_a_quota_sweep(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    records = [await put(index, 1, minute) for minute in range(4)]
    await index.lock(
        1,
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=40),
        reason="burglary 2026-03-01",
        by="operator",
        at=T0,
    )
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=250))

    result = await retention.sweep()

    assert await kept(index, 1) == [0, 3]
    assert (tmp_path / records[0].path).exists()
    assert result.short_bytes == 0


async def test_an_expired_lock_protects_nothing(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    for minute in range(2):
        await put(index, 1, minute)
    await index.lock(1, T0, T0 + timedelta(minutes=2), reason="r", by="op", at=T0, expires_at=T0)
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=100))

    await retention.sweep()

    assert await kept(index, 1) == [1]


async def test_when_everything_is_locked_the_shortfall_is_reported(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    for minute in range(3):
        await put(index, 1, minute)
    await index.lock(1, T0, T0 + timedelta(hours=1), reason="r", by="op", at=T0)
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=100))

    result = await retention.sweep()

    assert (result.deleted, result.short_bytes) == (0, 200)
    assert await kept(index, 1) == [0, 1, 2]


async def test_a_group_quota_trims_only_its_cameras(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    for minute in range(5):
        await put(index, 1, minute)
        await put(index, 2, minute)
        await put(index, 3, minute)
    group = GroupQuota("north", frozenset({1, 2}), quota_bytes=400)
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(groups=(group,)))

    await retention.sweep()

    assert len(await kept(index, 1)) + len(await kept(index, 2)) == 4
    assert await kept(index, 3) == [0, 1, 2, 3, 4]
    assert sorted(await kept(index, 1) + await kept(index, 2)) == [3, 3, 4, 4]


async def test_low_free_disk_deletes_the_oldest_until_enough_is_free(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    for minute in range(5):
        await put(index, 1, minute)
    retention = Retention(
        db,
        tmp_path,
        at_minute(10),
        RetentionPolicy(min_free_bytes=1000),
        free_bytes=lambda _root: 750,
    )

    result = await retention.sweep()

    assert result.freed_bytes == 300
    assert await kept(index, 1) == [3, 4]


async def test_a_row_whose_file_is_already_gone_is_removed(db: Database, tmp_path: Path) -> None:
    """After a crash between unlink and commit, the next sweep heals the index."""
    index = RecordingIndex(db, tmp_path)
    first = await put(index, 1, 0)
    await put(index, 1, 1)
    (tmp_path / first.path).unlink()
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=100))

    result = await retention.sweep()

    assert (result.deleted, result.failed) == (1, 0)
    assert await kept(index, 1) == [1]


async def test_a_file_that_cannot_be_removed_keeps_its_row_and_the_next_one_goes(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    stuck = await put(index, 1, 0)
    for minute in (1, 2):
        await put(index, 1, minute)

    def remove(path: Path, _root: Path) -> bool:
        if path == tmp_path / stuck.path:
            return False
        path.unlink()
        return True

    retention = Retention(
        db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=200), remove=remove
    )

    result = await retention.sweep()

    assert (result.deleted, result.failed) == (1, 1)
    assert await kept(index, 1) == [0, 2]


async def test_the_loop_sweeps_at_once_when_woken(db: Database, tmp_path: Path) -> None:
    index = RecordingIndex(db, tmp_path)
    retention = Retention(db, tmp_path, at_minute(10), RetentionPolicy(quota_bytes=100))

    async with asyncio.TaskGroup() as group:
        first = group.create_task(retention.next_sweep())
        await asyncio.sleep(0)
        loop = group.create_task(retention.run(interval_s=3600))
        assert (await first).deleted == 0
        for minute in range(3):
            await put(index, 1, minute)
        woken = group.create_task(retention.next_sweep())
        await asyncio.sleep(0)
        retention.wake()
        result = await woken
        loop.cancel()

    assert result.deleted == 2
    assert await kept(index, 1) == [2]
