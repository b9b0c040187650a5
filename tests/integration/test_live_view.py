"""Live view through the real server: a simulated RTSP camera is recorded, and a WebSocket
viewer gets the codec, an init segment and fragments that PyAV demuxes and decodes; a viewer
out of scope is refused, the allowed one is audited, and a snapshot is a JPEG of the camera."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from safecity.core.paging import PageRequest
from safecity.core.scope import Role
from safecity.media.mp4_boxes import boxes
from tests.api.conftest import ROOT
from tests.integration.camera_platform import CameraPlatform, camera_platform

pytestmark = pytest.mark.slow


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[CameraPlatform]:
    async with camera_platform(tmp_path) as platform:
        yield platform


def live_url(live: CameraPlatform, camera_id: int, role: Role) -> str:
    token = live.world.tokens[role]
    return f"{live.ws_url}/api/cameras/{camera_id}/live?token={token}"


async def test_a_viewer_gets_codec_init_and_fragments_that_decode(live: CameraPlatform) -> None:
    async with connect(live_url(live, live.camera_id, Role.OPERATOR)) as socket:
        header = json.loads(await asyncio.wait_for(socket.recv(), 10))
        init = await asyncio.wait_for(socket.recv(), 10)
        fragments = [await asyncio.wait_for(socket.recv(), 10) for _ in range(40)]
    assert header["camera"] == live.camera_id
    assert header["codec"].startswith("avc1.")
    assert (header["width"], header["height"]) == (live.width, live.height)
    assert isinstance(init, bytes)
    assert [b.type for b in boxes(init)] == ["ftyp", "moov"]
    assert all(isinstance(f, bytes) for f in fragments)
    assert all([b.type for b in boxes(f)] == ["moof", "mdat"] for f in fragments)  # type: ignore[arg-type]
    data = init + b"".join(f for f in fragments if isinstance(f, bytes))
    with av.open(io.BytesIO(data), "r") as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 40
    assert (frames[0].width, frames[0].height) == (live.width, live.height)


async def test_the_view_is_audited_and_a_viewer_out_of_scope_is_refused(
    live: CameraPlatform,
) -> None:
    async with connect(live_url(live, live.camera_id, Role.VIEWER)) as socket:
        await asyncio.wait_for(socket.recv(), 10)
    outside = live.world.ids["device_out"]
    async with connect(live_url(live, outside, Role.OPERATOR)) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    async with connect(f"{live.ws_url}/api/cameras/{live.camera_id}/live?token=nope") as socket:
        with pytest.raises(ConnectionClosed) as unsigned:
            await asyncio.wait_for(socket.recv(), 10)
    assert unsigned.value.rcvd is not None
    assert unsigned.value.rcvd.code == 1008

    audit = live.world.platform.services.audit
    records = (await audit.list(ROOT, PageRequest(limit=50), action="live.view")).items
    assert [(r.actor, r.target) for r in records] == [("caller-viewer", f"device:{live.camera_id}")]
    assert records[0].source == "127.0.0.1"


async def test_the_snapshot_is_a_jpeg_of_the_camera_size(live: CameraPlatform) -> None:
    client = live.world.client
    url = f"/api/cameras/{live.camera_id}/snapshot.jpg"
    for _ in range(100):  # the ring has its first keyframe within a GOP of going online
        response = await client.get(url, headers=live.world.auth(Role.OPERATOR))
        if response.status_code != 503:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    with av.open(io.BytesIO(response.content), "r") as image:
        frame = next(image.decode(video=0))
    assert (frame.width, frame.height) == (live.width, live.height)
    outside = live.world.ids["device_out"]
    refused = await client.get(
        f"/api/cameras/{outside}/snapshot.jpg", headers=live.world.auth(Role.OPERATOR)
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"


async def test_the_live_page_and_its_script_are_served_from_the_package(
    live: CameraPlatform,
) -> None:
    client = live.world.client
    page = await client.get(f"/live/{live.camera_id}")
    assert page.status_code == 200
    assert '<video id="video"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    script = await client.get("/ui/static/live.js")
    assert script.status_code == 200
    assert "MediaSource" in script.text
