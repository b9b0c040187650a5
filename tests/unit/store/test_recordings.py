"""The recording index repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from safecity.store.db import Database
from safecity.store.repositories import recordings as repo

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def add(db: Database, camera: int, start: float, end: float, size: int = 100) -> int:
    segment = repo.NewSegment(
        camera_id=camera,
        start=at(start),
        end=at(end),
        size=size,
        path=f"{camera}/{start}.mp4",
        codec="h264",
        frames=10,
        keyframes=[0.0, 4.8],
    )
    async with db.write() as session:
        (segment_id,) = await repo.add_segments(session, [segment])
        return segment_id


async def test_segments_between_returns_those_overlapping_the_range_in_order(
    db: Database,
) -> None:
    for start in (20, 0, 10, 30):
        await add(db, 1, start, start + 10)
    await add(db, 2, 10, 20)

    async with db.session() as session:
        rows = await repo.segments_between(session, 1, at(10), at(30))

    assert [(repo.utc(r.started_at), repo.utc(r.ended_at)) for r in rows] == [
        (at(10), at(20)),
        (at(20), at(30)),
    ]
    assert rows[0].keyframes == [0.0, 4.8]


async def test_last_end_is_the_newest_segment_end_of_the_camera(db: Database) -> None:
    await add(db, 1, 0, 10)
    await add(db, 1, 10, 25)
    await add(db, 2, 0, 99)

    async with db.session() as session:
        assert await repo.last_end(session, 1) == at(25)
        assert await repo.last_end(session, 3) is None


async def test_gaps_between_returns_the_camera_gaps_overlapping_the_range(db: Database) -> None:
    async with db.write() as session:
        await repo.add_gap(session, camera_id=1, start=at(10), end=at(30), cause="source_lost")
        await repo.add_gap(session, camera_id=1, start=at(50), end=at(60), cause="restart")
        await repo.add_gap(session, camera_id=2, start=at(10), end=at(30), cause="restart")

    async with db.session() as session:
        rows = await repo.gaps_between(session, 1, at(0), at(40))

    assert [(r.cause, repo.utc(r.started_at)) for r in rows] == [("source_lost", at(10))]


async def test_deletable_segments_are_oldest_first_and_skip_live_locks(db: Database) -> None:
    first = await add(db, 1, 0, 10)
    second = await add(db, 2, 5, 15)
    third = await add(db, 1, 10, 20)
    async with db.write() as session:
        await repo.add_lock(
            session,
            camera_id=1,
            start=at(2),
            end=at(3),
            reason="case 17",
            created_by="op",
            created_at=T0,
        )
        await repo.add_lock(
            session,
            camera_id=2,
            start=at(0),
            end=at(100),
            reason="expired",
            created_by="op",
            created_at=T0,
            expires_at=at(1),
        )

    async with db.session() as session:
        rows = await repo.deletable_segments(session, now=at(60), limit=10)
        camera_1 = await repo.deletable_segments(session, now=at(60), limit=10, cameras=[1])
        old = await repo.deletable_segments(session, now=at(60), limit=10, ended_before=at(16))
        paged = await repo.deletable_segments(
            session, now=at(60), limit=10, after_id=(at(15), second)
        )

    assert [r.id for r in rows] == [second, third]  # `first` overlaps the live lock
    assert [r.id for r in camera_1] == [third]
    assert [r.id for r in old] == [second]
    assert [r.id for r in paged] == [third]
    assert first not in [r.id for r in rows]


async def test_totals_by_camera_and_for_a_group(db: Database) -> None:
    await add(db, 1, 0, 10, size=100)
    await add(db, 1, 10, 20, size=50)
    await add(db, 2, 0, 10, size=7)

    async with db.session() as session:
        assert await repo.bytes_by_camera(session) == {1: 150, 2: 7}
        assert await repo.total_bytes(session) == 157
        assert await repo.total_bytes(session, [2, 3]) == 7
        assert await repo.total_bytes(session, [3]) == 0


async def test_deleting_segments_gaps_and_locks(db: Database) -> None:
    keep = await add(db, 1, 0, 10)
    drop = await add(db, 1, 10, 20)
    async with db.write() as session:
        await repo.add_gap(session, camera_id=1, start=at(20), end=at(30), cause="source_lost")
        await repo.add_gap(session, camera_id=1, start=at(90), end=at(95), cause="source_lost")
        lock = await repo.add_lock(
            session, camera_id=1, start=at(0), end=at(5), reason="r", created_by="op", created_at=T0
        )

    async with db.write() as session:
        assert await repo.delete_segments(session, [drop]) == 1
        assert await repo.delete_gaps_before(session, at(60)) == 1
        assert await repo.remove_lock(session, lock.id) is True
        assert await repo.remove_lock(session, lock.id) is False

    async with db.session() as session:
        assert [r.id for r in await repo.segments_between(session, 1, at(0), at(99))] == [keep]
        assert len(await repo.gaps_between(session, 1, at(0), at(99))) == 1
        assert await repo.locks_between(session, 1, at(0), at(99)) == []
