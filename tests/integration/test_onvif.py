"""Our ONVIF adapter, built on the real onvif-zeep-async client, against the ONVIF camera
simulator on 127.0.0.1: WS-Discovery, profiles and stream URIs (the main stream read with
PyAV from the RTSP camera simulator), PTZ, motion and tamper events through the pull loop,
credentials refused, and the pull loop coming back after the camera restarts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import av
import pytest

from safecity.adapters.onvif import (
    CameraEvent,
    CameraMotionDetected,
    CameraTamperDetected,
    OnvifCamera,
    OnvifEventListener,
    PtzVector,
    discover,
)
from safecity.core.backoff import Backoff
from safecity.core.errors import DeviceAuthFailed, DeviceUnavailable
from safecity.sim.camera_packets import PacketisedClip, packetise
from safecity.sim.camera_source import synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.sim.onvif import OnvifCameraSimulator
from safecity.sim.onvif_events import SimTopic
from safecity.sim.onvif_fleet import OnvifFleet, VideoFormat, fleet_configs

USER = "admin"
PASSWORD = "s3cret-Pass"
MAIN = VideoFormat(320, 180, 25, 1024)
SUB = VideoFormat(160, 96, 25, 256)
FAST: Backoff = Backoff(initial_s=0.05, max_s=0.2)


@dataclass
class Rig:
    fleet: OnvifFleet
    main: CameraServer
    sub: CameraServer

    @property
    def sim(self) -> OnvifCameraSimulator:
        return self.fleet.cameras[0]

    def camera(self, password: str = PASSWORD) -> OnvifCamera:
        return OnvifCamera("127.0.0.1", self.sim.port, USER, password, timeout_s=3.0)


@pytest.fixture(scope="module")
def clips() -> tuple[PacketisedClip, PacketisedClip]:
    main = synthetic_clip(seconds=1.0, width=MAIN.width, height=MAIN.height, fps=25)
    sub = synthetic_clip(seconds=1.0, width=SUB.width, height=SUB.height, fps=25)
    return packetise(main), packetise(sub)


@asynccontextmanager
async def rig_of(clips: tuple[PacketisedClip, PacketisedClip]) -> AsyncIterator[Rig]:
    async with (
        CameraServer(clips[0], count=1, port=0, udp=False) as main,
        CameraServer(clips[1], count=1, port=0, udp=False) as sub,
    ):
        configs = fleet_configs(
            main.urls, sub.urls, main=MAIN, sub=SUB, username=USER, password=PASSWORD
        )
        async with OnvifFleet(configs, port=0, discovery_port=0) as fleet:
            yield Rig(fleet, main, sub)


@pytest.fixture
async def rig(clips: tuple[PacketisedClip, PacketisedClip]) -> AsyncIterator[Rig]:
    async with rig_of(clips) as value:
        yield value


def read_packets(url: str, count: int) -> tuple[int, int, int]:
    """Width, height and the number of video packets read (blocking: run it in a thread)."""
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(5.0, 5.0)) as container:
        assert isinstance(container, av.container.InputContainer)
        stream = container.streams.video[0]
        read = 0
        for packet in container.demux(stream):
            if packet.size:
                read += 1
            if read == count:
                break
        return stream.codec_context.width, stream.codec_context.height, read


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling stats from outside the loop under test
            await asyncio.sleep(0.02)


async def test_discovery_finds_the_simulated_camera_on_loopback(rig: Rig) -> None:
    assert rig.fleet.discovery is not None
    found = await discover(
        address="127.0.0.1", port=rig.fleet.discovery.port, local_address="127.0.0.1",
        timeout_s=0.5,
    )  # fmt: skip
    assert len(found) == 1
    camera = found[0]
    assert camera.endpoint == rig.sim.config.endpoint
    assert camera.xaddrs == (rig.sim.device_url,)
    assert camera.host_port == ("127.0.0.1", rig.sim.port)
    assert camera.name == "cam-1"
    assert camera.sender == "127.0.0.1"


async def test_profiles_and_stream_uris_lead_to_a_stream_pyav_reads(rig: Rig) -> None:
    found = await discover(
        address="127.0.0.1", port=rig.fleet.discovery.port if rig.fleet.discovery else 0,
        local_address="127.0.0.1", timeout_s=0.3,
    )  # fmt: skip
    where = found[0].host_port
    assert where is not None
    async with OnvifCamera(*where, USER, PASSWORD, timeout_s=3.0) as camera:
        info = await camera.device_information()
        main, sub = await camera.streams()
    assert (info.manufacturer, info.serial) == ("safecity", "SIM0001")
    assert (main.profile.token, main.profile.encoding) == ("profile_main", "H264")
    assert (main.profile.width, main.profile.height, main.profile.fps) == (320, 180, 25.0)
    assert (sub.profile.width, sub.profile.height, sub.profile.bitrate_kbps) == (160, 96, 256)
    assert main.profile.ptz
    assert (main.uri, sub.uri) == (rig.main.urls[0], rig.sub.urls[0])
    width, height, packets = await asyncio.to_thread(read_packets, main.uri, 10)
    assert (width, height, packets) == (320, 180, 10)
    assert rig.main.stats.sessions_started == 1


async def test_ptz_moves_stops_and_goes_back_to_a_preset(rig: Rig) -> None:
    async with rig.camera() as camera:
        ptz, profile = camera.ptz, "profile_main"
        start = await ptz.status(profile)
        assert start.position == PtzVector(0.0, 0.0, 0.0)
        assert not start.moving
        await ptz.continuous_move(profile, PtzVector(pan=0.5, tilt=-0.25, zoom=0.2))
        await asyncio.sleep(0.2)
        moving = await ptz.status(profile)
        assert moving.moving
        await ptz.stop(profile)
        stopped = await ptz.status(profile)
        assert not stopped.moving
        assert stopped.position is not None
        assert stopped.position.pan > 0.05
        assert stopped.position.tilt < -0.02
        assert stopped.position.zoom > 0.02
        await asyncio.sleep(0.1)
        assert (await ptz.status(profile)).position == stopped.position  # it stays stopped

        token = await ptz.set_preset(profile, "gate")
        presets = await ptz.presets(profile)
        assert [(p.token, p.name) for p in presets] == [(token, "gate")]
        assert presets[0].position == stopped.position

        await ptz.absolute_move(profile, PtzVector(pan=-0.8, tilt=0.4, zoom=1.0))
        assert (await ptz.status(profile)).position == PtzVector(-0.8, 0.4, 1.0)
        await ptz.relative_move(profile, PtzVector(pan=0.3))
        moved = (await ptz.status(profile)).position
        assert moved is not None
        assert moved.pan == pytest.approx(-0.5)
        await ptz.goto_preset(profile, token)
        assert (await ptz.status(profile)).position == stopped.position
        await ptz.continuous_move(profile, PtzVector(pan=1.0), duration=timedelta(seconds=0.1))
        await asyncio.sleep(0.3)
        after_timeout = await ptz.status(profile)
        assert not after_timeout.moving  # the move's own timeout ended it
        assert after_timeout.position is not None
        assert after_timeout.position.pan == pytest.approx(stopped.position.pan + 0.1, abs=0.03)


async def test_motion_and_tamper_events_arrive_through_the_pull_loop(rig: Rig) -> None:
    received: asyncio.Queue[CameraEvent] = asyncio.Queue()
    listener = OnvifEventListener(
        rig.camera, _put(received), backoff=FAST, pull_timeout_s=1.0, termination_s=10.0
    )
    async with asyncio.TaskGroup() as group:
        task = group.create_task(listener.run())
        await asyncio.wait_for(listener.subscribed.wait(), 5.0)
        rig.sim.trigger_motion()
        rig.sim.trigger_tamper(topic=SimTopic.TAMPER)
        rig.sim.trigger_motion(active=False, topic=SimTopic.CELL_MOTION)
        rig.sim.trigger_tamper(active=False)
        events = [await asyncio.wait_for(received.get(), 5.0) for _ in range(4)]
        task.cancel()
    address = f"127.0.0.1:{rig.sim.port}"
    assert [(type(e), e.active, e.topic) for e in events] == [
        (CameraMotionDetected, True, "VideoSource/MotionAlarm"),
        (CameraTamperDetected, True, "RuleEngine/TamperDetector/Tamper"),
        (CameraMotionDetected, False, "RuleEngine/CellMotionDetector/Motion"),
        (CameraTamperDetected, False, "VideoSource/GlobalSceneChange/ImagingService"),
    ]
    assert {e.camera for e in events} == {address}
    assert {e.source for e in events} == {"VideoSource_1"}
    assert all(e.at.tzinfo is not None and not e.initial for e in events)
    assert listener.stats.subscriptions == 1
    assert listener.stats.events == 4


async def test_a_wrong_password_is_device_auth_failed(rig: Rig) -> None:
    with pytest.raises(DeviceAuthFailed):
        async with rig.camera(password="wrong"):
            pass
    listener = OnvifEventListener(lambda: rig.camera(password="wrong"), _put(asyncio.Queue()))
    with pytest.raises(DeviceAuthFailed):
        await asyncio.wait_for(listener.run(), 5.0)  # stops at once: no retry on bad credentials
    assert listener.stats.subscriptions == 0
    assert rig.sim.stats.refused >= 2


async def test_a_camera_that_does_not_answer_is_device_unavailable(rig: Rig) -> None:
    port = rig.sim.port
    await rig.sim.stop()
    with pytest.raises(DeviceUnavailable):
        async with OnvifCamera("127.0.0.1", port, USER, PASSWORD, timeout_s=2.0):
            pass


async def test_the_pull_loop_resubscribes_after_the_camera_restarts(rig: Rig) -> None:
    received: asyncio.Queue[CameraEvent] = asyncio.Queue()
    listener = OnvifEventListener(
        rig.camera, _put(received), backoff=FAST, pull_timeout_s=0.5, termination_s=10.0
    )
    async with asyncio.TaskGroup() as group:
        task = group.create_task(listener.run())
        await asyncio.wait_for(listener.subscribed.wait(), 5.0)
        rig.sim.trigger_motion()
        first = await asyncio.wait_for(received.get(), 5.0)
        await rig.sim.stop()  # the camera reboots: connection and subscription gone
        await eventually(lambda: listener.stats.failures >= 2)
        assert not listener.stats.connected
        await rig.sim.start()  # same port
        await eventually(lambda: listener.stats.subscriptions == 2)
        await asyncio.wait_for(listener.subscribed.wait(), 5.0)
        rig.sim.trigger_tamper()
        second = await asyncio.wait_for(received.get(), 5.0)
        task.cancel()
    assert isinstance(first, CameraMotionDetected)
    assert isinstance(second, CameraTamperDetected)
    assert rig.sim.stats.starts == 2
    assert listener.stats.last_error is not None


def _put(queue: asyncio.Queue[CameraEvent]) -> Callable[[CameraEvent], Awaitable[None]]:
    async def put(event: CameraEvent) -> None:
        await queue.put(event)

    return put


def test_the_cli_serves_numbered_cameras_and_prints_their_addresses() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "safecity", "sim", "onvif", "--count", "2", "--port", "0",
         "--rtsp-port", "0", "--discovery-port", "0", "--duration", "0.3"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cam-1" in done.stdout
    assert "cam-2" in done.stdout
    assert done.stdout.count("/onvif/device_service") == 2
