"""A serving platform (uvicorn on 127.0.0.1:<free port>) whose station-1 camera streams from a
simulated RTSP camera and is being recorded, with the API test world's users and tokens: what
the live-view integration, browser and benchmark runs start from."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from safecity.app import open_platform, serve
from safecity.core.events import CameraCameOnline
from safecity.org.models import DevicePatch
from safecity.settings import load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import encode_test_pattern, load_clip, synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.store.secretbox import SecretBox
from tests.api.conftest import ROOT, World, build_world


@dataclass
class CameraPlatform:
    world: World
    url: str  # http://127.0.0.1:<port>
    camera_id: int  # the recorded camera, inside station 1
    width: int
    height: int

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1)


@asynccontextmanager
async def camera_platform(
    folder: Path,
    *,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    ingest_workers: int = 0,
    media: dict[str, Any] | None = None,
    b_frames: int = 0,
) -> AsyncIterator[CameraPlatform]:
    """`ingest_workers`: record in that many worker processes (0: threads in this one);
    `media`: more media settings; `b_frames`: the camera's video has B-frames, up to that many
    in a row."""
    if b_frames:
        source = folder / "b-frames.mp4"
        encode_test_pattern(source, width=width, height=height, fps=fps, b_frames=b_frames)
        clip = packetise(load_clip(source, max_seconds=2.0))
    else:
        clip = packetise(synthetic_clip(seconds=2.0, width=width, height=height, fps=fps))
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'live.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 10_000},
        receiver={"enabled": False},
        media={
            "root": str(folder / "recordings"),
            "min_free_bytes": 0,
            "ingest_workers": ingest_workers,
            **(media or {}),
        },
        log={"level": "error"},
    )
    async with (
        CameraServer(clip, count=1, host="127.0.0.1", port=0) as cameras,
        open_platform(settings) as platform,
    ):
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(platform, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 10)
            async with httpx.AsyncClient(base_url=url) as client:
                world = await build_world(platform, client)
                camera_id = world.ids["device_in"]
                online = platform.bus.subscribe("media.camera.>")
                try:
                    await platform.services.devices.update(
                        ROOT, camera_id, DevicePatch(stream_url=cameras.urls[0])
                    )
                    async with asyncio.timeout(30):
                        async for delivery in online:
                            event = delivery.event
                            if isinstance(event, CameraCameOnline) and event.camera_id == camera_id:
                                break
                finally:
                    await online.close()
                yield CameraPlatform(world, url, camera_id, width, height)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
