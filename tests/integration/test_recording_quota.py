"""A disk quota reached mid-run, with real (simulated) RTSP cameras: retention deletes the oldest
unlocked segments, files and rows, keeps what an evidence lock holds, keeps the recordings near
the quota, and recording goes on without a gap."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from safecity.app import Platform, open_platform
from safecity.core.errors import NotFound
from safecity.core.events import CameraWentOffline, RecordingGapFound, SegmentRecorded
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import Settings, load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.store.repositories import recordings as repo
from safecity.store.secretbox import SecretBox

pytestmark = pytest.mark.slow

QUOTA = 1 << 20  # the smallest quota settings allow: about eleven 1 s segments of the clip
CAMERAS = 3
MORE_SEGMENTS = 3  # per camera, recorded after retention began to delete


@dataclass
class Sweep:
    """Right after a sweep that deleted: the bytes the quota counts, and those on disk."""

    indexed: int
    on_disk: int


@dataclass
class QuotaRun:
    segments: dict[int, list[SegmentRecorded]] = field(default_factory=lambda: defaultdict(list))
    gaps: list[RecordingGapFound] = field(default_factory=list)
    offline: list[CameraWentOffline] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    locked: SegmentRecorded | None = None  # the first segment of the locked camera
    indexed_at_lock: int = 0
    before_deleting: dict[int, int] = field(default_factory=dict)  # segments per camera


def _settings(folder: Path, key: str, **media: Any) -> Settings:
    return load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'store.db'}"},
        security={"master_key": key},
        receiver={"enabled": False},
        log={"level": "error"},
        media={
            "root": str(folder / "recordings"),
            "segment_s": 1,
            "min_free_bytes": 0,
            "retention_check_s": 1,
            **media,
        },
    )


async def _register_cameras(folder: Path, key: str, urls: list[str]) -> list[int]:
    """Register one camera per URL (not recording yet): the quotas name their ids."""
    async with open_platform(_settings(folder, key)) as platform:
        await seed_demo_city(platform.services)
        point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
        ids = []
        for n, url in enumerate(urls):
            draft = DeviceDraft(
                point_id=point.id, kind=DeviceKind.CAMERA, name=f"sim {n}", stream_url=url
            )
            ids.append((await platform.services.devices.create(SEED_SCOPE, draft)).id)
        return ids


def _disk_bytes(root: Path, cameras: Collection[int]) -> int:
    return sum(
        file.stat().st_size
        for camera in cameras
        for file in (root / str(camera)).rglob("*.mp4")
        if file.is_file()
    )


async def _measure(platform: Platform, cameras: Collection[int]) -> Sweep:
    """Indexed and on-disk bytes of `cameras`, read while no writer (recorder or retention)
    can change the index."""
    async with platform.db.write() as session:
        indexed = await repo.total_bytes(session, cameras)
        on_disk = await asyncio.to_thread(_disk_bytes, platform.settings.media.root, cameras)
    return Sweep(indexed, on_disk)


async def _record_past_quota(
    platform: Platform, cameras: list[int], *, quota_cameras: Collection[int], lock_camera: int
) -> QuotaRun:
    """Record until retention has deleted in at least three sweeps and every camera has closed
    `MORE_SEGMENTS` segments since the first deletion. The first segment of `lock_camera` is
    put under an evidence lock as soon as it is announced."""
    assert platform.retention is not None
    retention = platform.retention
    run = QuotaRun()
    events = platform.bus.subscribe("media.>")

    async def collect() -> None:
        async for delivery in events:
            event = delivery.event
            if isinstance(event, SegmentRecorded):
                run.segments[event.camera_id].append(event)
                if event.camera_id == lock_camera and run.locked is None:
                    run.indexed_at_lock = (await _measure(platform, quota_cameras)).indexed
                    await platform.recordings.lock(
                        event.camera_id,
                        event.start,
                        event.end,
                        reason="case 2026-17",
                        by="test",
                        at=platform.clock.now(),
                    )
                    run.locked = event
            elif isinstance(event, RecordingGapFound):
                run.gaps.append(event)
            elif isinstance(event, CameraWentOffline):
                run.offline.append(event)

    jobs = platform.background_jobs()
    tasks = [
        asyncio.ensure_future(collect()),
        asyncio.ensure_future(jobs["media-recording"]()),
        asyncio.ensure_future(jobs["media-retention"]()),
    ]
    try:
        async with asyncio.timeout(120):
            while True:
                result = await retention.next_sweep()
                if result.deleted:
                    run.sweeps.append(await _measure(platform, quota_cameras))
                    if not run.before_deleting:
                        run.before_deleting = {c: len(run.segments[c]) for c in cameras}
                if len(run.sweeps) >= 3 and all(
                    len(run.segments[c]) >= run.before_deleting[c] + MORE_SEGMENTS for c in cameras
                ):
                    break
    finally:
        for task in reversed(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await events.close()
    return run


async def _indexed(platform: Platform, segment: SegmentRecorded) -> bool:
    try:
        await platform.recordings.segment(segment.segment_id)
    except NotFound:
        return False
    return True


async def _split(
    platform: Platform, run: QuotaRun, cameras: Collection[int]
) -> tuple[list[SegmentRecorded], list[SegmentRecorded]]:
    """The cameras' announced segments: (deleted, kept), each by end time."""
    deleted: list[SegmentRecorded] = []
    kept: list[SegmentRecorded] = []
    for camera in cameras:
        for segment in run.segments[camera]:
            (kept if await _indexed(platform, segment) else deleted).append(segment)
    return sorted(deleted, key=lambda s: s.end), sorted(kept, key=lambda s: s.end)


def _assert_recording_went_on(run: QuotaRun, cameras: list[int]) -> None:
    """Every camera's segments meet end to start, nothing was reported missing, and each went
    on recording after the deletions began."""
    assert run.gaps == []
    assert run.offline == []
    for camera in cameras:
        segments = run.segments[camera]
        assert len(segments) >= run.before_deleting[camera] + MORE_SEGMENTS
        assert all(a.end == b.start for a, b in itertools.pairwise(segments)), camera


def _assert_near_quota(run: QuotaRun, quota: int, largest: int, cameras: int) -> None:
    """After each deleting sweep the quota's bytes are within one segment below the quota and
    one segment per camera (closed while the sweep ran) above it; on disk there are at most two
    more segments per camera: the one being written and, since the recorder thread goes on
    while `_measure` holds the index, one closed and not yet indexed."""
    assert len(run.sweeps) >= 3
    for sweep in run.sweeps:
        assert quota - largest < sweep.indexed <= quota + cameras * largest, sweep
        assert sweep.indexed <= sweep.on_disk <= sweep.indexed + 2 * cameras * largest, sweep


def _assert_files_follow_rows(
    root: Path, deleted: list[SegmentRecorded], kept: list[SegmentRecorded]
) -> None:
    assert deleted
    assert not [s.path for s in deleted if (root / s.path).exists()]
    assert all((root / s.path).is_file() for s in kept)


async def test_a_global_quota_reached_mid_run_deletes_the_oldest_unlocked_segments_and_recording_continues(  # noqa: E501
    tmp_path: Path,
) -> None:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    key = SecretBox.new_key()
    async with CameraServer(clip, count=CAMERAS, host="127.0.0.1", port=0) as server:
        cameras = await _register_cameras(tmp_path, key, server.urls)
        settings = _settings(tmp_path, key, quota_bytes=QUOTA)
        async with open_platform(settings) as platform:
            run = await _record_past_quota(
                platform, cameras, quota_cameras=cameras, lock_camera=cameras[0]
            )
            deleted, kept = await _split(platform, run, cameras)

    root = settings.media.root
    largest = max(s.bytes for c in cameras for s in run.segments[c])
    assert run.locked is not None
    assert run.indexed_at_lock < QUOTA  # the lock was made before the quota was reached
    assert run.locked in kept
    unlocked = [s for s in kept if s != run.locked]
    assert deleted[-1].end <= unlocked[0].end  # the oldest went first, whichever camera
    assert run.locked.end < deleted[-1].end  # ...and the lock kept an older one
    assert {s.camera_id for s in deleted} == set(cameras)
    _assert_files_follow_rows(root, deleted, kept)
    _assert_near_quota(run, QUOTA, largest, CAMERAS)
    _assert_recording_went_on(run, cameras)


async def test_a_group_quota_deletes_only_the_groups_oldest_segments(tmp_path: Path) -> None:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    key = SecretBox.new_key()
    async with CameraServer(clip, count=CAMERAS, host="127.0.0.1", port=0) as server:
        cameras = await _register_cameras(tmp_path, key, server.urls)
        group, outside = cameras[:2], cameras[2]
        quotas = {"station": {"cameras": group, "quota_bytes": QUOTA}}
        settings = _settings(tmp_path, key, group_quotas=quotas)
        async with open_platform(settings) as platform:
            run = await _record_past_quota(
                platform, cameras, quota_cameras=group, lock_camera=group[0]
            )
            deleted, kept = await _split(platform, run, group)
            outside_deleted, _ = await _split(platform, run, [outside])

    root = settings.media.root
    largest = max(s.bytes for c in group for s in run.segments[c])
    assert outside_deleted == []  # a camera of no group is not the group's to delete
    assert run.locked is not None
    assert run.indexed_at_lock < QUOTA
    assert run.locked in kept
    unlocked = [s for s in kept if s != run.locked]
    assert deleted[-1].end <= unlocked[0].end
    assert {s.camera_id for s in deleted} == set(group)
    _assert_files_follow_rows(root, deleted, kept)
    _assert_near_quota(run, QUOTA, largest, len(group))
    _assert_recording_went_on(run, cameras)
