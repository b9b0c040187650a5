"""The native pull loop against the simulated cameras over real sockets: several cameras on one
thread get their access units over TCP and UDP, an unknown path ends with the camera's refusal,
and stopping the loop tears the sessions down."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import av
import pytest

from safecity.adapters.rtsp.pull_loop import PullOptions, RtspPullLoop
from safecity.protocols.rtp.access_unit import AccessUnit, length_prefixed
from safecity.protocols.rtsp.track import VideoTrack
from safecity.protocols.rtsp.transport import LowerTransport
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import Clip, encode_test_pattern, load_clip, synthetic_clip
from safecity.sim.cameras import CameraServer

pytestmark = pytest.mark.slow


@dataclass
class Camera:
    """A `PulledCamera` that connects once and keeps what it is given."""

    url: str
    wanted: int = 50
    retired: bool = False
    tracks: list[VideoTrack] = field(default_factory=list)
    received: list[AccessUnit] = field(default_factory=list)
    endings: list[tuple[str, bool]] = field(default_factory=list)
    connects: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def due(self) -> bool:
        if self.connects:
            return False
        self.connects += 1
        return True

    def described(self, track: VideoTrack) -> None:
        self.tracks.append(track)

    def units(self, found: list[AccessUnit], arrived: float) -> None:
        self.received += found
        if len(self.received) >= self.wanted:
            self.done.set()

    def ended(self, reason: str, fallback: bool) -> None:
        self.endings.append((reason, fallback))
        self.done.set()

    def tick(self) -> None:
        pass


async def pull(cameras: list[Camera], transport: LowerTransport) -> None:
    stop = threading.Event()
    loop = RtspPullLoop(PullOptions(transport=transport))
    thread = threading.Thread(target=loop, args=(cameras, stop))
    thread.start()
    try:
        for camera in cameras:
            await asyncio.to_thread(camera.done.wait, 20)
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 10)


@pytest.fixture(scope="module", params=["h264", "h265"])
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Clip:
    if request.param == "h264":
        return synthetic_clip(seconds=2.0, width=160, height=96, fps=25)
    if "libx265" not in av.codecs_available:
        pytest.skip("PyAV was built without libx265")
    path = tmp_path_factory.mktemp("hevc") / "pattern.mp4"
    encode_test_pattern(path, encoder="libx265", width=160, height=96, seconds=2.0)
    return load_clip(path)


@pytest.mark.parametrize("transport", [LowerTransport.TCP, LowerTransport.UDP])
async def test_three_cameras_on_one_thread_get_their_access_units(
    transport: LowerTransport, clip: Clip
) -> None:
    packets = packetise(clip)
    async with CameraServer(packets, count=3, host="127.0.0.1", port=0) as server:
        cameras = [Camera(url) for url in server.urls]
        await pull(cameras, transport)
        await asyncio.sleep(0.2)  # the TEARDOWNs arrive
        active = server.stats.sessions_active

    for camera in cameras:
        assert camera.endings == []
        assert len(camera.received) >= 50
        assert camera.received[0].keyframe
        sent = [length_prefixed(unit.nal_units) for unit in clip.access_units]
        assert [unit.data for unit in camera.received[:50]] == sent[:50]  # byte for byte
        steps = {
            b.timestamp - a.timestamp
            for a, b in zip(camera.received, camera.received[1:], strict=False)
        }
        assert steps == {3600}  # 25 fps at 90 kHz, none lost
        assert [t.codec for t in camera.tracks] == [clip.codec]
    assert active == 0


async def test_an_unknown_stream_ends_with_the_refusal() -> None:
    clip = packetise(synthetic_clip(seconds=1.0, width=160, height=96, fps=25))
    async with CameraServer(clip, count=1, host="127.0.0.1", port=0) as server:
        camera = Camera(server.urls[0].replace("/cam/1", "/cam/9"))
        await pull([camera], LowerTransport.TCP)

    assert camera.endings == [("DESCRIBE refused: 404 Not Found", False)]
    assert camera.received == []


class Broken(Camera):
    def units(self, found: list[AccessUnit], arrived: float) -> None:
        raise RuntimeError("a bug in one camera's recording")


async def test_a_failing_camera_ends_its_own_connection_and_the_others_go_on(clip: Clip) -> None:
    packets = packetise(clip)
    async with CameraServer(packets, count=2, host="127.0.0.1", port=0) as server:
        broken, good = Broken(server.urls[0]), Camera(server.urls[1])
        await pull([broken, good], LowerTransport.TCP)

    assert broken.endings == [
        ("internal error: RuntimeError: a bug in one camera's recording", False)
    ]
    assert len(good.received) >= 50
    assert good.endings == []
