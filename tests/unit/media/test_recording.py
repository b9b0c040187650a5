"""The recording service: recorder threads' reports indexed in the store and published."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from safecity.bus.memory import MemoryBus
from safecity.core.errors import DeviceUnavailable
from safecity.core.events import CameraCameOnline, Event, SegmentRecorded
from safecity.media.index import RecordingIndex
from safecity.media.recorder import AvSource, Backoff, Source
from safecity.media.recording import CameraFeed, RecordingOptions, RecordingService
from safecity.store.db import Database
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0


async def test_recorded_segments_are_indexed_and_published(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    bus = MemoryBus()
    events = bus.subscribe("media.>")
    index = RecordingIndex(db, tmp_path)
    opened: list[str] = []

    def opener(url: str) -> Source:
        opened.append(url)
        if len(opened) == 1:
            return AvSource(url)
        raise DeviceUnavailable(f"{url}: gone")

    service = RecordingService(
        index,
        bus,
        FakeClock(T0),
        RecordingOptions(segment_s=10, backoff=Backoff(initial_s=0.01, max_s=0.05)),
        opener=opener,
    )
    seen: list[Event] = []
    async with asyncio.TaskGroup() as group:
        task = group.create_task(service.run([CameraFeed(4, str(footage), "/1/2/")]))
        async with asyncio.timeout(60):
            async for delivery in events:
                seen.append(delivery.event)
                if sum(isinstance(e, SegmentRecorded) for e in seen) == 3:
                    break
        task.cancel()

    assert isinstance(seen[0], CameraCameOnline)
    assert seen[0].org_path == "/1/2/"
    recorded = [e for e in seen if isinstance(e, SegmentRecorded)]
    timeline = await index.timeline(4, T0, T0 + timedelta(minutes=1))
    assert [s.id for s in timeline.segments] == [e.segment_id for e in recorded]
    assert timeline.recorded_s == sum((e.end - e.start).total_seconds() for e in recorded)
    ring = service.ring(4)
    assert ring is not None
    assert len(ring) == 0  # cleared when the file ended
