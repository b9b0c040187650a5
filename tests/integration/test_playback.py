"""Playback end to end: a simulated RTSP camera is recorded, its playlist fetched over HTTP from
the real server, every byte range fetched with `Range:` and decoded, ffprobe plays the playlist,
partners without the playback right are refused, and the viewing is in the audit trail."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import pytest

from safecity.access.models import GrantDraft
from safecity.app import Platform, open_platform, serve
from safecity.core.events import SegmentRecorded
from safecity.core.paging import PageRequest
from safecity.core.scope import Department, Right, Role
from safecity.demo.seed import SEED_SCOPE, DemoLogin, seed_demo_city
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.store.secretbox import SecretBox
from tests.integration.recorded_segments import record_segments

pytestmark = pytest.mark.slow

SEGMENTS = 3


@dataclass
class Recorded:
    platform: Platform
    url: str
    camera_id: int
    point_id: int
    segments: list[SegmentRecorded]
    tokens: dict[Role, str]


@dataclass
class Entry:
    map_uri: str
    init: tuple[int, int]  # length, offset
    uri: str
    media: tuple[int, int]


def entries(text: str) -> list[Entry]:
    found: list[Entry] = []
    init: tuple[str, tuple[int, int]] | None = None
    media: tuple[int, int] | None = None
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            attributes = dict(a.split("=", 1) for a in line.removeprefix("#EXT-X-MAP:").split(","))
            length, offset = attributes["BYTERANGE"].strip('"').split("@")
            init = (attributes["URI"].strip('"'), (int(length), int(offset)))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length, offset = line.removeprefix("#EXT-X-BYTERANGE:").split("@")
            media = (int(length), int(offset))
        elif line and not line.startswith("#"):
            assert init is not None
            assert media is not None
            found.append(Entry(init[0], init[1], line, media))
    return found


def byte_range(length: int, offset: int) -> dict[str, str]:
    return {"Range": f"bytes={offset}-{offset + length - 1}"}


async def login(client: httpx.AsyncClient, account: DemoLogin) -> str:
    response = await client.post(
        "/api/auth/login", json={"username": account.username, "password": account.password}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def record(platform: Platform, stream_url: str) -> tuple[int, int, list[SegmentRecorded]]:
    """A camera at a point not shared with traffic, recorded until it closed SEGMENTS files."""
    everything = await platform.services.points.list(SEED_SCOPE, PageRequest(limit=500))
    grants = await platform.services.grants.list(SEED_SCOPE, PageRequest(limit=500))
    shared = {grant.point_id for grant in grants.items}
    point = next(p for p in everything.items if p.id not in shared)
    camera = await platform.services.devices.create(
        SEED_SCOPE,
        DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name="sim", stream_url=stream_url),
    )
    segments = await record_segments(platform, camera.id, SEGMENTS)
    return camera.id, point.id, segments


@pytest.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[Recorded]:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'store.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 1000},
        receiver={"enabled": False},
        media={"root": str(tmp_path / "recordings"), "segment_s": 1, "min_free_bytes": 0},
        log={"level": "error"},
    )
    async with (
        CameraServer(clip, count=1, host="127.0.0.1", port=0) as cameras,
        open_platform(settings) as platform,
    ):
        logins = await seed_demo_city(platform.services)
        camera_id, point_id, segments = await record(platform, cameras.urls[0])
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        server = asyncio.ensure_future(serve(platform, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 30)
            async with httpx.AsyncClient(base_url=url) as client:
                tokens = {a.role: await login(client, a) for a in logins}
            yield Recorded(platform, url, camera_id, point_id, segments, tokens)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


def window(recorded: Recorded) -> dict[str, str]:
    return {
        "start": recorded.segments[0].start.isoformat(),
        "end": recorded.segments[-1].end.isoformat(),
    }


async def test_a_recorded_range_plays_from_byte_ranges_of_the_segment_files(
    recorded: Recorded,
) -> None:
    headers = {"Authorization": f"Bearer {recorded.tokens[Role.ADMIN]}"}
    playlist_url = f"/api/cameras/{recorded.camera_id}/playback.m3u8"
    async with httpx.AsyncClient(base_url=recorded.url, headers=headers) as client:
        response = await client.get(playlist_url, params=window(recorded))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        assert "#EXT-X-ENDLIST" in response.text
        listed = entries(response.text)
        assert len(listed) == SEGMENTS
        base = httpx.URL(f"{recorded.url}{playlist_url}")
        for entry, event in zip(listed, recorded.segments, strict=True):
            init = await client.get(base.join(entry.map_uri), headers=byte_range(*entry.init))
            media = await client.get(base.join(entry.uri), headers=byte_range(*entry.media))
            assert init.status_code == media.status_code == 206
            assert init.headers["content-type"] == "video/mp4"
            assert media.headers["content-range"].endswith(f"/{event.bytes}")
            assert len(init.content) == entry.init[0]
            assert len(media.content) == entry.media[0]
            segment = await recorded.platform.recordings.segment(event.segment_id)
            assert decoded_frames(init.content + media.content) == segment.record.frames

    audit = await recorded.platform.services.audit.list(
        SEED_SCOPE, PageRequest(limit=500), action="playback.view"
    )
    assert [(r.actor, r.target) for r in audit.items] == [("admin", f"device:{recorded.camera_id}")]


async def test_a_player_carrying_the_token_in_the_query_gets_it_on_every_segment_uri(
    recorded: Recorded,
) -> None:
    token = recorded.tokens[Role.ADMIN]
    playlist_url = f"/api/cameras/{recorded.camera_id}/playback.m3u8"
    async with httpx.AsyncClient(base_url=recorded.url) as client:
        response = await client.get(playlist_url, params={**window(recorded), "token": token})
        assert response.status_code == 200, response.text
        entry = entries(response.text)[0]
        assert entry.uri.endswith(f"?token={token}")
        base = httpx.URL(f"{recorded.url}{playlist_url}")
        media = await client.get(base.join(entry.uri), headers=byte_range(*entry.media))
        assert media.status_code == 206
        refused = await client.get(base.join(entry.uri.partition("?")[0]))
        assert refused.status_code == 401


async def test_a_partner_needs_a_playback_grant_on_the_camera(recorded: Recorded) -> None:
    headers = {"Authorization": f"Bearer {recorded.tokens[Role.PARTNER]}"}
    playlist_url = f"/api/cameras/{recorded.camera_id}/playback.m3u8"
    segment_url = (
        f"/api/cameras/{recorded.camera_id}/recordings/{recorded.segments[0].segment_id}.mp4"
    )
    async with httpx.AsyncClient(base_url=recorded.url, headers=headers) as client:
        unshared = await client.get(playlist_url, params=window(recorded))
        assert unshared.status_code == 404
        assert (await client.get(segment_url)).status_code == 404
        await recorded.platform.services.grants.create(
            SEED_SCOPE,
            GrantDraft(
                department=Department.TRAFFIC,
                point_id=recorded.point_id,
                rights=[Right.LIVE],
                expires_at=None,
            ),
        )
        live_only = await client.get(playlist_url, params=window(recorded))
        assert live_only.status_code == 403
        assert live_only.headers["content-type"] == "application/problem+json"
        assert (await client.get(segment_url)).status_code == 403

    audit = await recorded.platform.services.audit.list(
        SEED_SCOPE, PageRequest(limit=500), action="playback.view"
    )
    assert audit.items == []


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (FFmpeg) is not installed")
async def test_ffprobe_reads_the_playlist_over_http_and_every_frame_of_it(
    recorded: Recorded,
) -> None:
    """FFmpeg's HLS demuxer ignores `#EXT-X-DISCONTINUITY` (FFmpeg 5.1 as in Debian 12, and
    later): it feeds every file to one MP4 demuxer, which flags the packets of each file after
    the first, whose timestamps restart at 0, as discardable, so its decoder shows only the
    first file's frames. What FFmpeg proves here is the HTTP side: it reads the playlist, fetches
    every init and media byte range and demuxes every recorded frame."""
    query = httpx.QueryParams(window(recorded))
    url = f"{recorded.url}/api/cameras/{recorded.camera_id}/playback.m3u8?{query}"
    token = recorded.tokens[Role.ADMIN]
    probe = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-headers", f"Authorization: Bearer {token}\r\n",
        "-count_packets", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=nb_read_packets,nb_read_frames",
        "-of", "default=noprint_wrappers=1", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, err = await probe.communicate()
    assert probe.returncode == 0, err.decode()
    counts = dict(line.split("=") for line in out.decode().split())
    frames = [
        (await recorded.platform.recordings.segment(event.segment_id)).record.frames
        for event in recorded.segments
    ]
    assert int(counts["nb_read_packets"]) == sum(frames)
    assert int(counts["nb_read_frames"]) >= frames[0]


def decoded_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), "r") as container:
        return sum(1 for _ in container.decode(video=0))
