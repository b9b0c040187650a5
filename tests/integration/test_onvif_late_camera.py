"""An ONVIF-only camera (an `onvif_url`, no stream URL) that is off when the recording job
starts: shown offline on the bus, asked again with backoff without any device change, and
recorded from its first profile's stream once it answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic import SecretStr

from safecity.app import open_platform
from safecity.app_onvif import UNRESOLVED_REASON
from safecity.bus.port import Subscription
from safecity.core.events import CameraCameOnline, CameraWentOffline, Event, SegmentRecorded
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.sim.onvif import OnvifCameraSimulator
from safecity.sim.onvif_fleet import fleet_configs
from safecity.store.secretbox import SecretBox

from .onvif_platform import MAIN, PASSWORD, SUB, USER

pytestmark = pytest.mark.slow

E = TypeVar("E", bound=Event)


async def next_event(events: Subscription, kind: type[E], camera_id: int) -> E:
    async with asyncio.timeout(30):
        async for delivery in events:
            event = delivery.event
            if isinstance(event, kind) and getattr(event, "camera_id", None) == camera_id:
                return event
    raise AssertionError("the bus closed")


async def test_an_onvif_camera_off_at_the_start_is_shown_offline_and_recorded_once_it_answers(
    tmp_path: Path,
) -> None:
    clip = packetise(synthetic_clip(seconds=2.0, width=320, height=180, fps=25))
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={"root": str(tmp_path / "recordings"), "segment_s": 1, "min_free_bytes": 0},
        onvif={"events": False, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2},
        log={"level": "error"},
    )
    async with CameraServer(clip, count=1, host="127.0.0.1", port=0) as rtsp:
        (config,) = fleet_configs(
            rtsp.urls, rtsp.urls, main=MAIN, sub=SUB, username=USER, password=PASSWORD
        )
        sim = OnvifCameraSimulator(config, port=0)
        await sim.start()  # for a port of its own, then off
        await sim.stop()
        async with open_platform(settings) as platform:
            await seed_demo_city(platform.services)
            point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
            camera = await platform.services.devices.create(
                SEED_SCOPE,
                DeviceDraft(
                    point_id=point.id,
                    kind=DeviceKind.CAMERA,
                    name="onvif only",
                    onvif_url=sim.device_url,
                    username=USER,
                    password=SecretStr(PASSWORD),
                ),
            )
            events = platform.bus.subscribe("media.>")
            recording = asyncio.ensure_future(platform.background_jobs()["media-recording"]())
            try:
                offline = await next_event(events, CameraWentOffline, camera.id)
                unresolved = platform.streams.unresolved
                await asyncio.sleep(0.5)  # several retries against the closed port
                await sim.start()  # no device change: only the retries can find it
                online = await next_event(events, CameraCameOnline, camera.id)
                segment = await next_event(events, SegmentRecorded, camera.id)
            finally:
                recording.cancel()
                await asyncio.gather(recording, return_exceptions=True)
                await events.close()
                await sim.stop()
            (source,) = await platform.streams.sources()

    assert [device.device_id for device in unresolved] == [camera.id]
    assert offline.reason == UNRESOLVED_REASON
    assert offline.org_path == camera.org_path
    assert offline.at <= online.at
    assert sim.stats.starts == 2
    assert sim.stats.requests > 0
    assert source.url == rtsp.urls[0].replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@")
    assert segment.bytes > 0
    assert (tmp_path / "recordings" / segment.path).is_file()
