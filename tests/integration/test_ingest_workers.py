"""Recording in ingest worker processes (`media.ingest_workers: 2`): simulated RTSP cameras
sharded over two workers are recorded and indexed by the platform, a device change restarts
them, a worker killed with SIGKILL is started again, the segment it had open is salvaged and its
cameras resume after a `source_lost` gap from that segment's end, and live view and snapshots of
a camera recorded in a worker work through the real server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from websockets.asyncio.client import connect

from safecity.app import Platform, open_platform
from safecity.bus.port import Subscription
from safecity.core.events import RecordingGapFound, SegmentRecorded
from safecity.core.paging import PageRequest
from safecity.core.scope import Role
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.media.mp4_boxes import BoxError, boxes
from safecity.media.mp4_index import read_layout
from safecity.media.records import GapCause, Timeline
from safecity.media.worker_pool import IngestWorkers
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.store.secretbox import SecretBox
from tests.integration.camera_platform import camera_platform

pytestmark = pytest.mark.slow

WORKERS = 2


@asynccontextmanager
async def recording_platform(
    folder: Path, cameras: int, *, segment_s: float = 1
) -> AsyncIterator[tuple[Platform, list[str]]]:
    """A platform recording in two workers, the demo city without devices, and the URLs of
    `cameras` simulated cameras (a keyframe every second)."""
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={
            "root": str(folder / "recordings"),
            "segment_s": segment_s,
            "min_free_bytes": 0,
            "ingest_workers": WORKERS,
        },
        log={"level": "warning"},
    )
    async with (
        CameraServer(clip, count=cameras, host="127.0.0.1", port=0) as server,
        open_platform(settings) as platform,
    ):
        await seed_demo_city(platform.services)
        page = PageRequest(limit=10_000)
        for device in (await platform.services.devices.list(SEED_SCOPE, page)).items:
            await platform.services.devices.delete(SEED_SCOPE, device.id)
        yield platform, server.urls


async def add_camera(platform: Platform, url: str) -> int:
    point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
    draft = DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name="sim", stream_url=url)
    return (await platform.services.devices.create(SEED_SCOPE, draft)).id


def workers_of(platform: Platform) -> IngestWorkers:
    assert platform.recording is not None
    workers = platform.recording.workers
    assert workers is not None
    return workers


async def timeline(platform: Platform, camera_id: int) -> Timeline:
    now = datetime.now(UTC)
    return await platform.recordings.timeline(camera_id, now - timedelta(hours=1), now)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def segments_of(events: Subscription, wanted: dict[int, int], within_s: float = 60) -> None:
    """Consume bus deliveries until each camera in `wanted` has announced that many segments."""
    seen = dict.fromkeys(wanted, 0)
    async with asyncio.timeout(within_s):
        async for delivery in events:
            event = delivery.event
            if isinstance(event, SegmentRecorded) and event.camera_id in seen:
                seen[event.camera_id] += 1
                if all(seen[c] >= n for c, n in wanted.items()):
                    return


async def test_every_camera_is_recorded_in_a_worker_and_a_device_change_restarts_them(
    tmp_path: Path,
) -> None:
    async with recording_platform(tmp_path, 3) as (platform, urls):
        first = [await add_camera(platform, url) for url in urls[:2]]
        events = platform.bus.subscribe("media.segment")
        job = asyncio.ensure_future(platform.background_jobs()["media-recording"]())
        try:
            await segments_of(events, dict.fromkeys(first, 2))
            pids = dict(workers_of(platform).pids)
            third = await add_camera(platform, urls[2])  # the job restarts the workers
            await segments_of(events, {third: 2, **dict.fromkeys(first, 1)})
            restarted = dict(workers_of(platform).pids)
            cameras = [*first, third]
            before = {c: len((await timeline(platform, c)).segments) for c in cameras}
        finally:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
            await events.close()
        after = {c: await timeline(platform, c) for c in cameras}
        assert platform.recording is not None
        engines = dict(platform.recording.engines)

    assert sorted(pids) == sorted(restarted) == list(range(WORKERS))  # both shards in use
    assert not set(pids.values()) & set(restarted.values())  # new processes after the change
    assert not any(alive(pid) for pid in restarted.values() if pid is not None)
    assert engines == dict.fromkeys(cameras, "native")
    for camera in cameras:
        segments = [s.record for s in after[camera].segments]
        assert len(segments) > before[camera]  # the open segment was closed and indexed at stop
        assert all(a.end <= b.start for a, b in itertools.pairwise(segments))
        assert {gap.cause for gap in after[camera].gaps} <= {GapCause.RESTART}
        with av.open(str(tmp_path / "recordings" / segments[0].path)) as container:
            assert sum(1 for _ in container.decode(video=0)) >= 25
    assert len(after[first[0]].gaps) == 1  # the device change's restart


def complete_fragments(path: Path) -> int:
    """The `moof` + `mdat` pairs of a file being written, up to the first box cut short."""
    found: list[str] = []
    with contextlib.suppress(BoxError):
        found.extend(b.type for b in boxes(path.read_bytes()))
    return sum(1 for pair in itertools.pairwise(found) if pair == ("moof", "mdat"))


def files_of(root: Path, camera_id: int) -> set[str]:
    return {p.relative_to(root).as_posix() for p in (root / str(camera_id)).rglob("*.mp4")}


async def open_file(platform: Platform, root: Path, camera_id: int, fragments: int) -> str:
    """The camera's file being written (its newest, which the index does not name yet), once
    it holds `fragments` complete fragments."""
    async with asyncio.timeout(60):
        while True:
            newest = max(files_of(root, camera_id), default=None)
            segments = (await timeline(platform, camera_id)).segments
            indexed = {s.record.path.as_posix() for s in segments}
            if newest and newest not in indexed and complete_fragments(root / newest) >= fragments:
                return newest
            await asyncio.sleep(0.05)


async def test_a_killed_worker_is_restarted_its_open_segment_salvaged_and_resumed_after_a_gap(
    tmp_path: Path,
) -> None:
    root = tmp_path / "recordings"
    async with recording_platform(tmp_path, 2, segment_s=4) as (platform, urls):
        cameras = [await add_camera(platform, url) for url in urls]
        victim, other = cameras  # consecutive ids: one in each shard
        events = platform.bus.subscribe("media.>")
        job = asyncio.ensure_future(platform.background_jobs()["media-recording"]())
        try:
            await segments_of(events, dict.fromkeys(cameras, 1))
            workers = workers_of(platform)
            killed = workers.pids[victim % WORKERS]
            assert killed is not None
            open_path = await open_file(platform, root, victim, 2)  # two GOPs of 4 on disk
            os.kill(killed, signal.SIGKILL)
            gap: RecordingGapFound | None = None
            salvaged: SegmentRecorded | None = None
            async with asyncio.timeout(60):
                async for delivery in events:
                    event = delivery.event
                    if getattr(event, "camera_id", None) != victim:
                        continue
                    if isinstance(event, SegmentRecorded) and event.path == open_path:
                        salvaged = event
                    if isinstance(event, RecordingGapFound):
                        gap = event
                    if isinstance(event, SegmentRecorded) and gap:
                        break
            replacement = workers.pids[victim % WORKERS]
            restarts = workers.restarts
        finally:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
            await events.close()
        hit, spared = await timeline(platform, victim), await timeline(platform, other)

    assert gap is not None
    assert gap.cause == GapCause.SOURCE_LOST.value
    assert restarts == 1
    assert replacement not in (None, killed)
    segments = [s.record for s in hit.segments]
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))  # nothing overlaps
    # the file the killed worker had open: indexed (and announced) up to its last fragment
    assert salvaged is not None
    found = next(s for s in segments if s.path.as_posix() == open_path)
    assert (salvaged.start, salvaged.end) == (found.start, found.end)
    assert found.bytes == (root / open_path).stat().st_size
    assert read_layout(root / open_path).fragments >= 2  # playback addresses it as any other
    with av.open(str(root / open_path)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == found.frames >= 50  # 25 fps
    assert found.duration_s == pytest.approx(found.frames / 25, abs=1e-3)
    assert [(g.start, g.end) for g in hit.gaps] == [(gap.start, gap.end)]
    assert gap.start == found.end  # the hole runs from the salvaged segment's end
    assert gap.end in {s.start for s in segments}  # to the first one the new worker wrote
    assert files_of(root, victim) == {s.path.as_posix() for s in segments}  # no orphan
    assert spared.gaps == ()  # the other worker's camera was not touched
    assert all(a.end <= b.start for a, b in itertools.pairwise(s.record for s in spared.segments))


async def test_live_view_and_snapshot_of_a_camera_recorded_in_a_worker(tmp_path: Path) -> None:
    async with camera_platform(tmp_path, ingest_workers=WORKERS) as live:
        platform = live.world.platform
        workers = workers_of(platform)
        token = live.world.tokens[Role.OPERATOR]
        url = f"{live.ws_url}/api/cameras/{live.camera_id}/live?token={token}"
        async with connect(url) as socket:
            header = json.loads(await asyncio.wait_for(socket.recv(), 10))
            init = await asyncio.wait_for(socket.recv(), 10)
            fragments = [await asyncio.wait_for(socket.recv(), 10) for _ in range(40)]
            forwarded = workers.ring(live.camera_id) is not None
        async with asyncio.timeout(10):  # the last viewer left: the worker stops forwarding
            while workers.ring(live.camera_id) is not None:  # noqa: ASYNC110 (polls a thread's state)
                await asyncio.sleep(0.05)
        client = live.world.client
        snapshot = f"/api/cameras/{live.camera_id}/snapshot.jpg"
        for _ in range(100):
            response = await client.get(snapshot, headers=live.world.auth(Role.OPERATOR))
            if response.status_code != 503:
                break
            await asyncio.sleep(0.1)
        latencies = platform.services.live.stats.samples()

    assert forwarded
    assert header["codec"].startswith("avc1.")
    assert isinstance(init, bytes)
    assert [b.type for b in boxes(init)] == ["ftyp", "moov"]
    data = init + b"".join(f for f in fragments if isinstance(f, bytes))
    with av.open(io.BytesIO(data), "r") as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 40
    assert (frames[0].width, frames[0].height) == (live.width, live.height)
    # arrival stamps from the worker and send times here are on one clock (CLOCK_MONOTONIC)
    assert latencies
    assert all(0 <= seconds < 30 for seconds in latencies)
    assert response.status_code == 200, response.text
    with av.open(io.BytesIO(response.content), "r") as image:
        picture = next(image.decode(video=0))
    assert (picture.width, picture.height) == (live.width, live.height)
