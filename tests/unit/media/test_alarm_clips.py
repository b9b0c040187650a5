"""An alarm's cameras keep the seconds around it out of retention's reach."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from safecity.bus.memory import MemoryBus
from safecity.core.events import AlarmRaised
from safecity.media.alarm_clips import AlarmClips, ClipWindow
from safecity.media.index import RecordingIndex
from safecity.store.db import Database
from tests.unit.media.conftest import T0


def alarm(cameras: list[int]) -> AlarmRaised:
    return AlarmRaised(
        at=T0,
        org_path="/1/2/",
        alarm_id=41,
        account="A00001",
        point_id=7,
        source="panel",
        code="130",
        category="burglary",
        priority=2,
        title_en="Burglary - zone 3",
        title_zh="盗警 - 防区3",
        zone=3,
        cameras=cameras,
    )


async def test_each_camera_of_a_raised_alarm_gets_a_lock_around_it(
    db: Database, tmp_path: Path
) -> None:
    index = RecordingIndex(db, tmp_path)
    bus = MemoryBus()
    clips = AlarmClips(index, bus, ClipWindow(pre_s=30, post_s=60, keep_days=90))
    running = asyncio.create_task(clips.run())
    await asyncio.sleep(0)  # subscribed
    await bus.publish(alarm([5, 9]))
    for _ in range(100):
        if await index.locks(9, T0 - timedelta(hours=1), T0 + timedelta(hours=1)):
            break
        await asyncio.sleep(0.01)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    for camera in (5, 9):
        (lock,) = await index.locks(camera, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert (lock.start, lock.end) == (T0 - timedelta(seconds=30), T0 + timedelta(seconds=60))
        assert lock.expires_at == T0 + timedelta(days=90)
        assert "alarm 41" in lock.reason
    assert await index.locks(6, T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == []


async def test_an_alarm_without_cameras_locks_nothing(db: Database, tmp_path: Path) -> None:
    clips = AlarmClips(RecordingIndex(db, tmp_path), MemoryBus(), ClipWindow())
    assert await clips.keep(alarm([])) == 0
