"""A serving platform (uvicorn on 127.0.0.1:<free port>, every background job running) with the
API test world, and two simulated ONVIF cameras on 127.0.0.1 for its cameras: `sims[0]` for
station 1's `device_in`, `sims[1]` for station 2's `device_out`. The world's cameras share one
username and password, which the simulators accept. `register` gives a camera its ONVIF address."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from safecity.adapters.onvif import OnvifEventListener
from safecity.adapters.onvif.relay import CameraEventRelay
from safecity.app import open_platform, serve
from safecity.org.models import DevicePatch
from safecity.settings import load_settings
from safecity.sim.onvif import OnvifCameraSimulator
from safecity.sim.onvif_fleet import OnvifFleet, VideoFormat, fleet_configs
from safecity.store.secretbox import SecretBox
from tests.api.conftest import ROOT, World, build_world

USER = "admin"
PASSWORD = "s3cret-pass"  # what build_world gives every camera
MAIN = VideoFormat(320, 180, 25, 1024)
SUB = VideoFormat(160, 96, 25, 256)
MAIN_URLS = ("rtsp://127.0.0.1:8554/cam/1", "rtsp://127.0.0.1:8554/cam/2")
SUB_URLS = ("rtsp://127.0.0.1:8554/cam/1/sub", "rtsp://127.0.0.1:8554/cam/2/sub")


@dataclass
class OnvifPlatform:
    world: World
    url: str  # http://127.0.0.1:<port>
    fleet: OnvifFleet

    @property
    def sims(self) -> list[OnvifCameraSimulator]:
        return self.fleet.cameras

    @property
    def relay(self) -> CameraEventRelay:
        relay = self.world.platform.onvif_events
        assert relay is not None
        return relay

    async def register(
        self, device: str, sim: OnvifCameraSimulator, *, password: str | None = None
    ) -> int:
        camera_id = self.world.ids[device]
        patch = DevicePatch(onvif_url=sim.device_url)
        if password is not None:
            patch = DevicePatch(onvif_url=sim.device_url, password=SecretStr(password))
        await self.world.platform.services.devices.update(ROOT, camera_id, patch)
        return camera_id

    async def listening(self, camera_id: int, timeout_s: float = 8.0) -> OnvifEventListener:
        """The camera's listener, once its subscription is live (after the relay's restart)."""
        async with asyncio.timeout(timeout_s):
            while True:
                listener = self.relay.listeners.get(camera_id)
                if listener is not None and listener.subscribed.is_set():
                    return listener
                await asyncio.sleep(0.02)


async def eventually(condition: Callable[[], bool], timeout_s: float = 8.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling state the loop under test sets
            await asyncio.sleep(0.02)


@asynccontextmanager
async def onvif_platform(folder: Path) -> AsyncIterator[OnvifPlatform]:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'onvif.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 10_000},
        receiver={"enabled": False},
        media={"recording": False, "root": str(folder / "recordings")},
        onvif={"reconnect_min_s": 0.05, "reconnect_max_s": 0.2, "pull_timeout_s": 1.0},
        log={"level": "error"},
    )
    configs = fleet_configs(
        MAIN_URLS, SUB_URLS, main=MAIN, sub=SUB, username=USER, password=PASSWORD
    )
    async with (
        OnvifFleet(configs, port=0, discovery_port=0) as fleet,
        open_platform(settings) as platform,
    ):
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(platform, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 10)
            async with httpx.AsyncClient(base_url=url) as client:
                yield OnvifPlatform(await build_world(platform, client), url, fleet)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
