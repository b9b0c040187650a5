"""Pre-alarm clips through the real server, from a simulated RTSP camera being recorded, with
the engines in this process and in two ingest workers: the clip since a time and an alarm's
clip come from memory at once (no segment has closed yet), PyAV decodes every frame of them,
and they cover the asked seconds from the keyframe before; a caller outside the camera's scope
or without the playback right is refused, and every clip served is audited; a worker that does
not answer gives 503, not the 404 of a camera with nothing in memory."""

from __future__ import annotations

import asyncio
import io
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import httpx
import pytest

from safecity.access.models import GrantDraft
from safecity.core.paging import PageRequest
from safecity.core.scope import Department, Right, Role
from safecity.media.worker_pool import RING_TIMEOUT_S
from tests.api.alarm_seed import seed_alarm
from tests.api.conftest import ROOT
from tests.integration.camera_platform import CameraPlatform, camera_platform

pytestmark = pytest.mark.slow

FPS = 25  # the simulator's clip: 25 fps, a keyframe every second
GOP_S = 1.0
SLACK_S = 0.5  # arrival jitter on a busy machine
PRE_S = 2.0  # media.alarm_pre_s


@dataclass
class Clip:
    since: datetime
    start: datetime
    end: datetime
    frames: int  # as the header says
    decoded: int
    keyframe_first: bool
    frame_steps: list[int]  # each decoded frame's time in frame intervals from the first
    size: tuple[int, int]


def clip_of(response: httpx.Response) -> Clip:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content), "r") as container:
        frames = list(container.decode(video=0))
    assert frames
    assert frames[0].time is not None
    times = [frame.time - frames[0].time for frame in frames if frame.time is not None]
    return Clip(
        since=datetime.fromisoformat(response.headers["x-clip-since"]),
        start=datetime.fromisoformat(response.headers["x-clip-start"]),
        end=datetime.fromisoformat(response.headers["x-clip-end"]),
        frames=int(response.headers["x-clip-frames"]),
        decoded=len(frames),
        keyframe_first=frames[0].key_frame,
        frame_steps=[round(time * FPS) for time in times],
        size=(frames[0].width, frames[0].height),
    )


def assert_covers(clip: Clip, since: datetime, asked: datetime, answered: datetime) -> None:
    """From the keyframe at or before `since` (within a GOP), every frame to about when it was
    asked for (`asked`..`answered`), in order."""
    assert since - timedelta(seconds=GOP_S + SLACK_S) < clip.start <= since
    assert clip.keyframe_first
    assert clip.decoded == clip.frames
    assert clip.frame_steps == list(range(clip.decoded))  # none dropped, time only forward
    media_s = clip.decoded / FPS
    assert (asked - since).total_seconds() - SLACK_S <= media_s
    assert media_s <= (answered - clip.start).total_seconds() + SLACK_S
    assert abs((clip.end - clip.start).total_seconds() - media_s) < SLACK_S


async def get_clip(
    live: CameraPlatform, url: str, role: Role, params: dict[str, str] | None = None
) -> tuple[Clip, datetime, datetime]:
    asked = datetime.now(UTC)
    response = await live.world.client.get(url, params=params, headers=live.world.auth(role))
    return clip_of(response), asked, datetime.now(UTC)


@pytest.mark.parametrize("ingest_workers", [0, 2])
async def test_clips_from_memory_cover_the_asked_seconds_in_both_ingest_layouts(
    tmp_path: Path, ingest_workers: int
) -> None:
    media = {"alarm_pre_s": PRE_S, "segment_s": 60}
    async with camera_platform(tmp_path, ingest_workers=ingest_workers, media=media) as live:
        camera = live.camera_id
        await asyncio.sleep(4.5)  # the ring fills; the first segment is still open
        since = datetime.now(UTC) - timedelta(seconds=3)
        by_time, asked, answered = await get_clip(
            live, f"/api/cameras/{camera}/clip.mp4", Role.OPERATOR, {"since": since.isoformat()}
        )
        raised = datetime.now(UTC) - timedelta(seconds=0.5)
        alarm = await seed_alarm(live.world, "unit_in", raised_at=raised, cameras=[camera])
        by_alarm, alarm_asked, alarm_answered = await get_clip(
            live, f"/api/alarms/{alarm}/clip.mp4", Role.OPERATOR
        )
        recorded = await live.world.platform.recordings.timeline(
            camera, since - timedelta(minutes=1), datetime.now(UTC)
        )

    assert recorded.segments == ()  # nothing of it could have come from the recording yet
    assert by_time.since == since
    assert_covers(by_time, since, asked, answered)
    assert by_time.size == (live.width, live.height)
    alarm_since = raised - timedelta(seconds=PRE_S)
    assert abs((by_alarm.since - alarm_since).total_seconds()) < 0.001
    assert_covers(by_alarm, by_alarm.since, alarm_asked, alarm_answered)


async def test_a_clip_out_of_scope_or_without_the_playback_right_is_refused_and_one_served_audited(
    tmp_path: Path,
) -> None:
    async with camera_platform(tmp_path) as live:
        world, camera = live.world, live.camera_id
        await asyncio.sleep(1.5)
        outside = await world.client.get(
            f"/api/cameras/{world.ids['device_out']}/clip.mp4", headers=world.auth(Role.OPERATOR)
        )
        hidden = await world.client.get(  # the partner's department is not granted this point
            f"/api/cameras/{camera}/clip.mp4", headers=world.auth(Role.PARTNER)
        )
        await world.platform.services.grants.create(
            ROOT,
            GrantDraft(
                department=Department.TRAFFIC,
                point_id=world.ids["point_in"],
                rights=[Right.LIVE],
                expires_at=None,
            ),
        )
        live_only = await world.client.get(
            f"/api/cameras/{camera}/clip.mp4", headers=world.auth(Role.PARTNER)
        )
        token = world.tokens[Role.VIEWER]  # as a <video> element fetches it
        served = await world.client.get(f"/api/cameras/{camera}/clip.mp4?seconds=1&token={token}")
        audit = world.platform.services.audit
        records = (await audit.list(ROOT, PageRequest(limit=50), action="playback.clip")).items

    assert outside.status_code == 404
    assert outside.headers["content-type"] == "application/problem+json"
    assert "in memory" not in outside.text  # the same answer as for no such camera
    assert hidden.status_code == 404
    assert live_only.status_code == 403
    assert "playback right" in live_only.json()["detail"]
    clip = clip_of(served)
    assert clip.decoded == clip.frames > 0
    assert [(r.actor, r.target) for r in records] == [("caller-viewer", f"device:{camera}")]
    assert records[0].source == "127.0.0.1"
    detail = records[0].detail
    assert detail["start"] == clip.start.isoformat()
    assert detail["frames"] == clip.frames


async def test_a_clip_asked_of_a_stopped_ingest_worker_is_503_and_served_once_it_answers(
    tmp_path: Path,
) -> None:
    async with camera_platform(tmp_path, ingest_workers=2) as live:
        world, camera = live.world, live.camera_id
        recording = world.platform.recording
        assert recording is not None
        assert recording.workers is not None
        worker = recording.workers.pids[camera % 2]
        assert worker is not None
        await asyncio.sleep(1.5)
        url = f"/api/cameras/{camera}/clip.mp4?seconds=1"
        os.kill(worker, signal.SIGSTOP)  # alive, but it reads no request
        try:
            stopped = await world.client.get(  # the worker has RING_TIMEOUT_S to answer
                url, headers=world.auth(Role.OPERATOR), timeout=RING_TIMEOUT_S + 5
            )
        finally:
            os.kill(worker, signal.SIGCONT)
        for _ in range(40):  # stopped that long, its camera connection may have to start over
            await asyncio.sleep(0.5)
            served = await world.client.get(url, headers=world.auth(Role.OPERATOR))
            if served.status_code != 404:
                break

    assert stopped.status_code == 503
    assert stopped.headers["content-type"] == "application/problem+json"
    assert "did not answer" in stopped.json()["detail"]
    clip = clip_of(served)
    assert clip.decoded == clip.frames > 0
