"""The recording service: recorder threads' reports indexed in the store and published, and
which engine records which camera."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path, PurePosixPath

from safecity.bus.memory import MemoryBus
from safecity.bus.port import Subscription
from safecity.core.errors import DeviceUnavailable, StoreUnavailable
from safecity.core.events import CameraCameOnline, Event, RecordingGapFound, SegmentRecorded
from safecity.media.index import RecordingIndex
from safecity.media.ingest import NativeCamera
from safecity.media.mp4_boxes import boxes
from safecity.media.recorder import AvSource, Backoff, Source
from safecity.media.recording import (
    CameraFeed,
    RecordingOptions,
    RecordingService,
    _segments_after,
)
from safecity.media.records import GapCause, GapRecord, SegmentRecord
from safecity.media.segment_writer import SegmentWriter
from safecity.media.worker_pool import PoolItem
from safecity.store.db import Database
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0, decoded_frames, record_file


async def events_until_segments(
    service: RecordingService, feed: CameraFeed, events: Subscription, segments: int
) -> list[Event]:
    """Record `feed` until `segments` segments are published; every media event seen."""
    seen: list[Event] = []
    async with asyncio.TaskGroup() as group:
        task = group.create_task(service.run([feed]))
        async with asyncio.timeout(60):
            async for delivery in events:
                seen.append(delivery.event)
                if sum(isinstance(e, SegmentRecorded) for e in seen) == segments:
                    break
        task.cancel()
    return seen


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
    seen = await events_until_segments(service, CameraFeed(4, str(footage), "/1/2/"), events, 3)

    assert isinstance(seen[0], CameraCameOnline)
    assert seen[0].org_path == "/1/2/"
    recorded = [e for e in seen if isinstance(e, SegmentRecorded)]
    timeline = await index.timeline(4, T0, T0 + timedelta(minutes=1))
    assert [s.id for s in timeline.segments] == [e.segment_id for e in recorded]
    assert timeline.recorded_s == sum((e.end - e.start).total_seconds() for e in recorded)
    ring = service.ring(4)
    assert ring is not None
    assert len(ring) == 0  # cleared when the file ended


async def test_rtsp_cameras_go_to_the_native_loop_and_one_it_cannot_read_falls_back(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    bus = MemoryBus()
    events = bus.subscribe("media.segment")
    pulled: list[list[NativeCamera]] = []

    def pull(cameras: Sequence[NativeCamera], stop: threading.Event) -> None:
        pulled.append(list(cameras))
        cameras[0].ended("no H.264 or H.265 video track (found JPEG)", fallback=True)
        stop.wait()

    def opener(url: str) -> Source:
        assert url == "rtsp://cam-5.example/mjpeg"  # PyAV gets the camera the loop gave up
        return AvSource(str(footage))

    service = RecordingService(
        RecordingIndex(db, tmp_path),
        bus,
        FakeClock(T0),
        RecordingOptions(segment_s=10, backoff=Backoff(initial_s=60)),
        opener=opener,
        pull=pull,
    )
    feeds = [CameraFeed(5, "rtsp://cam-5.example/mjpeg", "/1/"), CameraFeed(6, "rtsp://b/", "/1/")]
    async with asyncio.TaskGroup() as group:
        task = group.create_task(service.run(feeds))
        async with asyncio.timeout(60):
            async for delivery in events:
                if isinstance(delivery.event, SegmentRecorded):
                    assert delivery.event.camera_id == 5
                    break
        task.cancel()

    assert [[c.camera_id for c in cameras] for cameras in pulled] == [[5, 6]]
    assert service.engines == {5: "pyav", 6: "native"}


async def test_the_pyav_engine_records_rtsp_cameras_itself(db: Database, tmp_path: Path) -> None:
    def pull(cameras: Sequence[NativeCamera], stop: threading.Event) -> None:
        raise AssertionError("the native loop must not run")

    def unreachable(url: str) -> Source:
        raise DeviceUnavailable(f"{url}: connection refused")

    service = RecordingService(
        RecordingIndex(db, tmp_path),
        MemoryBus(),
        FakeClock(T0),
        RecordingOptions(engine="pyav", backoff=Backoff(initial_s=60)),
        opener=unreachable,
        pull=pull,
    )
    task = asyncio.create_task(service.run([CameraFeed(7, "rtsp://c/", "/1/")]))
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert service.engines == {7: "pyav"}


class HeldIndex(RecordingIndex):
    """An index whose first segment insert waits until `release` is set."""

    def __init__(self, db: Database, root: Path) -> None:
        super().__init__(db, root)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def add_segment(self, segment: SegmentRecord) -> int:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return await super().add_segment(segment)


async def test_a_segment_being_indexed_when_recording_is_cancelled_is_still_indexed(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    index = HeldIndex(db, tmp_path)
    first_only = itertools.chain([AvSource(str(footage))], itertools.repeat(None))

    def opener(url: str) -> Source:
        source = next(first_only)
        if source is None:
            raise DeviceUnavailable(f"{url}: gone")
        return source

    service = RecordingService(
        index,
        MemoryBus(),
        FakeClock(T0),
        RecordingOptions(segment_s=10, backoff=Backoff(initial_s=60)),
        opener=opener,
    )
    task = asyncio.create_task(service.run([CameraFeed(4, str(footage), "/1/")]))
    async with asyncio.timeout(30):
        await index.entered.wait()  # the first segment's insert has begun
    task.cancel()  # shutdown, mid-insert
    await asyncio.sleep(0.1)
    index.release.set()
    await asyncio.gather(task, return_exceptions=True)
    timeline = await index.timeline(4, T0, T0 + timedelta(minutes=5))

    assert task.cancelled()
    assert timeline.segments
    assert timeline.segments[0].record.start == T0  # the held one is indexed, not dropped
    assert timeline.gaps == ()
    records = [s.record for s in timeline.segments]
    assert [r.end for r in records[:-1]] == [r.start for r in records[1:]]


def killed_mid_segment(footage: Path, root: Path) -> tuple[SegmentRecord, SegmentRecord]:
    """Camera 4's footage recorded from T0 as a writer killed in its second segment leaves it:
    the first segment closed, the second cut inside its third fragment (no third file)."""
    reports = record_file(SegmentWriter(4, root, segment_s=10), footage)
    first, second, third = [r for r in reports if isinstance(r, SegmentRecord)]
    (root / third.path).unlink()
    path = root / second.path
    data = path.read_bytes()
    top = list(boxes(data))
    moofs = [b for b in top if b.type == "moof"]
    path.write_bytes(data[: moofs[2].start + 100])
    return first, second


async def test_a_dead_writers_file_is_salvaged_before_recording_starts_and_the_gap_follows_it(
    db: Database, tmp_path: Path, footage: Path
) -> None:
    first, killed = killed_mid_segment(footage, tmp_path)
    index = RecordingIndex(db, tmp_path)
    await index.add_segment(first)
    bus = MemoryBus()
    events = bus.subscribe("media.>")
    opened: list[str] = []

    def opener(url: str) -> Source:
        opened.append(url)
        if len(opened) == 1:
            return AvSource(url)
        raise DeviceUnavailable(f"{url}: gone")

    restart = T0 + timedelta(minutes=1)
    service = RecordingService(
        index,
        bus,
        FakeClock(restart),
        RecordingOptions(segment_s=10, backoff=Backoff(initial_s=60)),
        opener=opener,
    )
    seen = await events_until_segments(service, CameraFeed(4, str(footage), "/1/2/"), events, 2)

    recorded = [e for e in seen if isinstance(e, SegmentRecorded)]
    assert recorded[0].path == killed.path.as_posix()  # salvaged, indexed and published first
    assert recorded[0].start == killed.start
    assert recorded[0].end == killed.start + timedelta(seconds=9.6)  # two GOPs of 4.8 s
    assert recorded[0].bytes == (tmp_path / killed.path).stat().st_size
    assert decoded_frames(tmp_path / killed.path) == 120
    gaps = [e for e in seen if isinstance(e, RecordingGapFound)]
    assert [(g.start, g.end, g.cause) for g in gaps] == [
        (recorded[0].end, restart, GapCause.RESTART.value)
    ]
    assert recorded[1].start == restart
    timeline = await index.timeline(4, T0, restart + timedelta(minutes=1))
    segments = [s.record for s in timeline.segments]
    assert [s.start for s in segments[:3]] == [first.start, killed.start, restart]
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))


class BatchIndex(RecordingIndex):
    """An index that counts its batch inserts, and can refuse them (as a store gone away)."""

    def __init__(self, db: Database, root: Path, *, refuse: bool = False) -> None:
        super().__init__(db, root)
        self.refuse = refuse
        self.batches: list[int] = []

    async def add_segments(self, segments: Sequence[SegmentRecord]) -> list[int]:
        self.batches.append(len(segments))
        if self.refuse:
            raise StoreUnavailable("the store went away")
        return await super().add_segments(segments)


def recorded(camera: int, start_s: int) -> SegmentRecord:
    start = T0 + timedelta(seconds=start_s)
    path = PurePosixPath(f"{camera}/{start_s}.mp4")
    return SegmentRecord(
        camera, start, start + timedelta(seconds=10), 100, path, "h264", 250, (0.0,)
    )


async def published(events: Subscription, count: int) -> list[SegmentRecorded]:
    found: list[SegmentRecorded] = []
    async with asyncio.timeout(5):
        async for delivery in events:
            if isinstance(delivery.event, SegmentRecorded):
                found.append(delivery.event)
            if len(found) == count:
                break
    return found


async def test_segments_waiting_together_are_indexed_at_once_and_published_in_order(
    db: Database, tmp_path: Path
) -> None:
    bus = MemoryBus()
    events = bus.subscribe("media.>")
    index = BatchIndex(db, tmp_path)
    service = RecordingService(index, bus, FakeClock(T0), RecordingOptions())
    feeds = {5: CameraFeed(5, "rtsp://a/", "/1/"), 6: CameraFeed(6, "rtsp://b/", "/2/")}
    gap = GapRecord(5, T0, T0, GapCause.SOURCE_LOST)
    segments = [recorded(5, 0), recorded(6, 0), recorded(5, 10)]
    items: list[PoolItem] = [*segments, gap, recorded(6, 10)]
    first, *rest = items
    queue: asyncio.Queue[PoolItem] = asyncio.Queue()
    for item in rest:
        queue.put_nowait(item)
    ahead: list[PoolItem] = []

    batch = _segments_after(first, queue, ahead)
    assert batch == items[:3]
    assert ahead == [gap]  # taken, to be handled next: the order is kept
    assert queue.qsize() == 1
    assert _segments_after(gap, queue, []) == [gap]  # only segments are gathered

    assert await service._settle_batch(feeds, batch) == 0
    assert index.batches == [3]
    sent = await published(events, 3)
    assert [(e.camera_id, e.start, e.org_path) for e in sent] == [
        (s.camera_id, s.start, feeds[s.camera_id].org_path) for s in segments
    ]
    five = await index.timeline(5, T0, T0 + timedelta(minutes=1))
    assert [s.id for s in five.segments] == [sent[0].segment_id, sent[2].segment_id]


async def test_a_batch_the_store_refuses_is_tried_one_segment_at_a_time(
    db: Database, tmp_path: Path
) -> None:
    index = BatchIndex(db, tmp_path, refuse=True)
    service = RecordingService(index, MemoryBus(), FakeClock(T0), RecordingOptions())
    feeds = {5: CameraFeed(5, "rtsp://a/", "/1/")}
    batch: list[PoolItem] = [recorded(5, 0), recorded(5, 10)]

    assert await service._settle_batch(feeds, batch) == 0

    assert index.batches == [2]
    timeline = await index.timeline(5, T0, T0 + timedelta(minutes=1))
    assert [s.record for s in timeline.segments] == batch
