"""The platform records the registry's cameras: a camera device whose stream URL points at a
simulated RTSP camera is pulled, remuxed into segments, indexed, and announced on the bus."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import av
import pytest
from pydantic import SecretStr

from safecity.app import Platform, open_platform
from safecity.core.errors import NotFound
from safecity.core.events import CameraCameOnline, SegmentRecorded
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.media.root_lock import MediaRootLock
from safecity.org.models import Device, DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import encode_test_pattern, load_clip, synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.store.secretbox import SecretBox
from tests.integration.recorded_segments import record_segments

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("transport", "b_frames"), [("tcp", 0), ("udp", 0), ("tcp", 3)], ids=["tcp", "udp", "b-frames"]
)
async def test_a_registered_camera_is_recorded_into_indexed_segments(
    tmp_path: Path, transport: str, b_frames: int
) -> None:
    # With B-frames (a pyramid of three) the native path makes the decode times RTP lacks.
    if b_frames:
        encode_test_pattern(
            tmp_path / "b.mp4", width=320, height=180, seconds=2.0, b_frames=b_frames
        )
        clip = packetise(load_clip(tmp_path / "b.mp4"))
    else:
        clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={
            "root": str(tmp_path / "recordings"),
            "segment_s": 1,
            "min_free_bytes": 0,
            "rtsp_transport": transport,
        },
    )
    async with (
        CameraServer(clip, count=1, host="127.0.0.1", port=0) as cameras,
        open_platform(settings) as platform,
    ):
        await seed_demo_city(platform.services)
        events = platform.bus.subscribe("media.>")
        job = platform.background_jobs()["media-recording"]
        recording = asyncio.ensure_future(job())
        try:
            point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
            camera = await platform.services.devices.create(
                SEED_SCOPE,
                DeviceDraft(
                    point_id=point.id,
                    kind=DeviceKind.CAMERA,
                    name="sim camera",
                    stream_url=cameras.urls[0],
                    username="viewer",  # the simulator ignores credentials; the URL carries them
                    password=SecretStr("p@ss word"),
                ),
            )
            segments: list[SegmentRecorded] = []
            online = False
            async with asyncio.timeout(60):
                async for delivery in events:
                    event = delivery.event
                    if isinstance(event, CameraCameOnline) and event.camera_id == camera.id:
                        online = True
                    if isinstance(event, SegmentRecorded) and event.camera_id == camera.id:
                        segments.append(event)
                        if len(segments) == 3:
                            break
        finally:
            recording.cancel()
            await asyncio.gather(recording, return_exceptions=True)
            await events.close()
        over_udp = cameras.stats.udp_sessions_started
        assert platform.recording is not None
        engine = platform.recording.engines[camera.id]

    assert over_udp == (1 if transport == "udp" else 0)
    assert engine == "native"
    assert online
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))
    for segment in segments:
        with av.open(str(tmp_path / "recordings" / segment.path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames >= 25  # one second or more of 25 fps video in every segment


async def test_a_platform_whose_media_root_is_taken_records_once_it_is_free(
    tmp_path: Path,
) -> None:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    root = tmp_path / "recordings"
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={"root": str(root), "segment_s": 1, "min_free_bytes": 0},
    )
    other = MediaRootLock(root)  # another platform, recording into the same folder
    other.acquire()
    async with (
        CameraServer(clip, count=1, host="127.0.0.1", port=0) as cameras,
        open_platform(settings) as platform,
    ):
        camera = await _sim_camera(platform, cameras.urls[0])
        with pytest.raises(TimeoutError):
            await record_segments(platform, camera.id, 1, within_s=3)
        waited = list(root.rglob("*.mp4"))
        released = asyncio.get_running_loop().call_later(1.0, other.release)
        try:
            segments = await record_segments(platform, camera.id, 2, within_s=30)
        finally:
            released.cancel()
            other.release()

    assert waited == []  # nothing written while the other held the root
    assert len(segments) == 2
    assert all((root / s.path).exists() for s in segments)


async def test_a_recorded_range_exports_as_signed_evidence_audited_and_scoped(
    tmp_path: Path,
) -> None:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    master_key = SecretBox.new_key()
    store = tmp_path / "store.db"
    media = {"root": str(tmp_path / "recordings"), "segment_s": 1, "min_free_bytes": 0}
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{store}"},
        security={"master_key": master_key},
        receiver={"enabled": False},
        media=media,
    )
    async with (
        CameraServer(clip, count=1, host="127.0.0.1", port=0) as cameras,
        open_platform(settings) as platform,
    ):
        camera = await _sim_camera(platform, cameras.urls[0])
        segments = await record_segments(platform, camera.id, 4)
        start = segments[0].start + timedelta(seconds=0.5)
        end = segments[-1].end - timedelta(seconds=0.5)
        manifest = await platform.evidence.export(
            SEED_SCOPE, camera.id, start, end, tmp_path / "clip.mp4", reason="test"
        )
        outsider = Scope(user_id=99, username="elsewhere", role=Role.ADMIN, org_path="/999/")
        with pytest.raises(NotFound):
            await platform.evidence.export(outsider, camera.id, start, end, tmp_path / "x.mp4")
        audit = await platform.services.audit.list(SEED_SCOPE, PageRequest(limit=500))
    assert manifest.actual_start <= start
    assert manifest.camera_gb_id == camera.gb_id
    assert [r.action for r in audit.items].count("evidence.export") == 1
    assert not (tmp_path / "x.mp4").exists()

    config = tmp_path / "safecity.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{store}\nsecurity:\n  master_key: {master_key}\n"
        f"media:\n  root: {media['root']}\nlog:\n  level: error\n",
        encoding="utf-8",
    )
    window = ["--start", f"{start:%Y-%m-%dT%H:%M:%S}", "--end", f"{end:%Y-%m-%dT%H:%M:%S}"]
    exported = _evidence_cli(
        "export", "--camera", str(camera.id), "--config", str(config), *window,
        "--out", str(tmp_path / "cli.mp4"), "--case-number", "2026-001",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    verified = _evidence_cli("verify", str(tmp_path / "cli.mp4"), "--config", str(config))
    assert verified.returncode == 0, verified.stderr
    assert "evidence intact" in verified.stdout


async def _sim_camera(platform: Platform, url: str) -> Device:
    """The demo city seeded, and a camera streaming from `url` at its first point."""
    await seed_demo_city(platform.services)
    point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
    draft = DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name="sim", stream_url=url)
    return await platform.services.devices.create(SEED_SCOPE, draft)


def _evidence_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "safecity", "evidence", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
