"""ONVIF wired into the platform, against simulated cameras on 127.0.0.1: a registered camera's
motion and tamper reach the bus and `/api/events` (in scope only) as core events, the relay
restarts on device changes and leaves a camera that refuses the credentials alone, a camera
without a stream URL is recorded from its first profile, and `safecity onvif discover` finds
a simulator."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from safecity.bus.port import Subscription
from safecity.core.events import CameraMotionDetected, CameraTamperDetected, Event
from safecity.core.scope import Role
from safecity.org.models import DevicePatch
from safecity.sim.onvif_events import SimTopic
from tests.api.conftest import ROOT

from .onvif_platform import (
    MAIN_URLS,
    PASSWORD,
    USER,
    OnvifPlatform,
    eventually,
    onvif_platform,
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[OnvifPlatform]:
    async with onvif_platform(tmp_path) as value:
        yield value


async def next_camera_event(subscription: Subscription) -> Event:
    async with asyncio.timeout(5):
        async for delivery in subscription:
            await subscription.ack(delivery)
            return delivery.event
    raise AssertionError("the bus closed")


async def test_a_registered_cameras_motion_and_tamper_reach_the_bus_as_core_events(
    rig: OnvifPlatform,
) -> None:
    bus = rig.world.platform.bus
    events = bus.subscribe("media.camera.>")
    try:
        camera_id = await rig.register("device_in", rig.sims[0])  # the relay restarts for it
        await rig.listening(camera_id)
        rig.sims[0].trigger_motion()
        motion = await next_camera_event(events)
        rig.sims[0].trigger_tamper(topic=SimTopic.TAMPER)
        tamper = await next_camera_event(events)
        rig.sims[0].trigger_motion(active=False)
        motion_off = await next_camera_event(events)
    finally:
        await events.close()
    device = await rig.world.platform.services.devices.get(ROOT, camera_id)
    assert isinstance(motion, CameraMotionDetected)
    assert isinstance(tamper, CameraTamperDetected)
    assert isinstance(motion_off, CameraMotionDetected)
    assert (motion.camera_id, motion.point_id, motion.org_path) == (
        camera_id,
        device.point_id,
        device.org_path,
    )
    assert (motion.active, tamper.active, motion_off.active) == (True, True, False)
    assert motion.subject == "media.camera.motion"
    assert tamper.subject == "media.camera.tamper"
    assert motion.source == "VideoSource_1"
    assert not motion.initial
    assert motion.at.tzinfo is not None


async def test_camera_events_reach_only_consoles_whose_scope_holds_the_camera(
    rig: OnvifPlatform,
) -> None:
    inside = await rig.register("device_in", rig.sims[0])
    outside = await rig.register("device_out", rig.sims[1])
    await rig.listening(inside)
    await rig.listening(outside)
    bus = rig.world.platform.bus.subscribe("media.camera.>")
    ws_url = rig.url.replace("http", "ws") + "/api/events?subjects=media.camera.>"
    try:
        async with connect(ws_url, additional_headers=rig.world.auth(Role.OPERATOR)) as socket:
            await asyncio.sleep(0.1)  # the server subscribes after accepting
            rig.sims[1].trigger_motion()  # station 2: not the operator's
            seen = await next_camera_event(bus)
            assert isinstance(seen, CameraMotionDetected)
            assert seen.camera_id == outside  # on the bus, so the console had its chance
            rig.sims[0].trigger_tamper()
            message = json.loads(await asyncio.wait_for(socket.recv(), 5))
    finally:
        await bus.close()
    assert message["subject"] == "media.camera.tamper"
    assert message["event"]["kind"] == "camera_tamper_detected"
    assert message["event"]["camera_id"] == inside
    assert message["event"]["active"] is True


async def test_a_camera_refusing_the_credentials_is_left_stopped_and_others_keep_going(
    rig: OnvifPlatform,
) -> None:
    refused = await rig.register("device_out", rig.sims[1], password="wrong")
    working = await rig.register("device_in", rig.sims[0])
    await rig.listening(working)
    await eventually(lambda: refused in rig.relay.refused)
    attempts = rig.sims[1].stats.refused
    await asyncio.sleep(0.6)  # three backoff periods at most: a retrying listener would ask again
    assert rig.sims[1].stats.refused == attempts
    assert rig.relay.listeners[refused].stats.subscriptions == 0
    events = rig.world.platform.bus.subscribe("media.camera.>")
    try:
        rig.sims[0].trigger_motion()
        event = await next_camera_event(events)
    finally:
        await events.close()
    assert isinstance(event, CameraMotionDetected)
    assert event.camera_id == working

    # Fixing the password is a device change: the relay starts over and subscribes.
    await rig.world.platform.services.devices.update(
        ROOT, refused, DevicePatch.model_validate({"password": PASSWORD})
    )
    await rig.listening(refused)
    assert refused not in rig.relay.refused


async def test_a_camera_without_a_stream_url_records_its_first_profiles_uri(
    rig: OnvifPlatform,
) -> None:
    streams = rig.world.platform.streams
    assert await streams.sources() == []  # the world's cameras name no stream URL
    camera_id = await rig.register("device_in", rig.sims[0])
    (source,) = await streams.sources()
    assert source.device_id == camera_id
    assert source.url == MAIN_URLS[0].replace("rtsp://", f"rtsp://{USER}:{PASSWORD}@")

    asked = rig.sims[0].stats.requests
    assert await streams.sources() == [source]
    assert rig.sims[0].stats.requests == asked  # cached while the device is unchanged
    await rig.world.platform.services.devices.update(ROOT, camera_id, DevicePatch(name="renamed"))
    assert await streams.sources() == [source]
    assert rig.sims[0].stats.requests > asked  # a device change asks the camera again

    own = "rtsp://127.0.0.1:9554/own"
    await rig.world.platform.services.devices.update(ROOT, camera_id, DevicePatch(stream_url=own))
    (source,) = await streams.sources()
    assert source.url.endswith("@127.0.0.1:9554/own")  # a stream URL of its own wins


async def test_an_unreachable_camera_is_left_out_of_the_sources_for_now(
    rig: OnvifPlatform,
) -> None:
    camera_id = await rig.register("device_in", rig.sims[0])
    await rig.sims[0].stop()
    streams = rig.world.platform.streams
    assert await streams.sources() == []
    assert [device.device_id for device in streams.unresolved] == [camera_id]  # ask again


async def test_a_camera_refusing_the_credentials_is_left_out_and_not_to_be_asked_again(
    rig: OnvifPlatform,
) -> None:
    await rig.register("device_in", rig.sims[0], password="wrong")
    streams = rig.world.platform.streams
    assert await streams.sources() == []
    assert streams.unresolved == ()  # asking again would only lock the account
    assert rig.sims[0].stats.refused > 0


async def test_the_cli_discovers_a_simulated_camera_and_lists_its_profiles(
    rig: OnvifPlatform,
) -> None:
    assert rig.fleet.discovery is not None
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "safecity", "onvif", "discover", "--timeout", "0.5",
        "--address", "127.0.0.1", "--port", str(rig.fleet.discovery.port),
        "--probe-profiles", "--user", USER, "--password", PASSWORD,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    out = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert "cam-1" in out
    assert "cam-2" in out
    for sim in rig.sims:
        assert f"address  {sim.device_url}" in out
    assert "hardware SimCam" in out
    assert f"profile_main (MainStream) H264 320x180 25 fps 1024 kbit/s ptz: {MAIN_URLS[0]}" in out
    assert "2 camera(s) found" in out
