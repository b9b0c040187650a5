"""The ingest records what `ffmpeg -re ... -f rtsp` pushes into the platform's push ingest
point (Debian FFmpeg as the publisher, over TCP interleaved and UDP), the recorder pulling it
back as a camera at rtsp://127.0.0.1:<port>/push/cam1, and ffprobe reads the re-served
stream, video and audio alike."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import av
import pytest

from safecity.adapters.rtsp.push_server import PushOptions, PushServer
from safecity.app import Platform, open_platform
from safecity.core.events import RecordingGapFound
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.sim.camera_source import encode_test_pattern
from safecity.store.secretbox import SecretBox
from tests.integration.recorded_segments import record_segments

pytestmark = pytest.mark.slow

FFMPEG: Final = shutil.which("ffmpeg")
FFPROBE: Final = shutil.which("ffprobe")
FOOTAGE: Final = (
    Path(__file__).resolve().parents[2].parent / "shared/data/footage/car-detection.mp4"
)
PATH: Final = "/push/cam1"
TRANSPORTS: Final = ["tcp", "udp"]


@pytest.fixture(scope="module")
def pattern(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of 320x180 H.264 at 25 fps, a keyframe every second: 1 s segments."""
    if FFMPEG is None or FFPROBE is None:
        pytest.skip("ffmpeg/ffprobe are not on PATH (Debian package ffmpeg)")
    path = tmp_path_factory.mktemp("push") / "pattern.mp4"
    encode_test_pattern(path, width=320, height=180, fps=25, seconds=2.0, gop_seconds=1.0)
    return path


@asynccontextmanager
async def publishing(source: Path, url: str, transport: str) -> AsyncIterator[None]:
    """`ffmpeg -re -stream_loop -1 -i source -c copy -f rtsp url`, until the block ends."""
    assert FFMPEG is not None
    command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-re"]
    command += ["-stream_loop", "-1", "-i", str(source), "-c", "copy"]
    command += ["-f", "rtsp", "-rtsp_transport", transport, url]
    publisher = await asyncio.create_subprocess_exec(*command)
    try:
        yield
    finally:
        if publisher.returncode is None:
            publisher.terminate()  # FFmpeg sends TEARDOWN on SIGTERM
        await publisher.wait()


async def recording(server: PushServer, path: str = PATH, within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        # ASYNC110: polling the server from outside; it keeps no event per path
        while (status := server.status(path)) is None or not status.recording:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@asynccontextmanager
async def push_platform(folder: Path, transport: str) -> AsyncIterator[Platform]:
    """A platform with the push ingest point on a free port, its job running."""
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={
            "root": str(folder / "recordings"),
            "segment_s": 1,
            "min_free_bytes": 0,
            "rtsp_transport": transport,
            "reconnect_max_s": 1.0,
        },
        push={"enabled": True, "port": 0, "session_timeout_s": 5},
        log={"level": "error"},
    )
    async with open_platform(settings) as platform:
        assert platform.push is not None
        job = asyncio.ensure_future(platform.background_jobs()["rtsp-push"]())
        try:
            await asyncio.wait_for(platform.push.listening.wait(), 5)
            yield platform
        finally:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job


async def camera_at(platform: Platform, url: str) -> int:
    await seed_demo_city(platform.services)
    point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
    camera = await platform.services.devices.create(
        SEED_SCOPE,
        DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name="pushed", stream_url=url),
    )
    return camera.id


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_camera_pushed_by_ffmpeg_is_recorded_in_one_second_segments(
    pattern: Path, transport: str, tmp_path: Path
) -> None:
    async with push_platform(tmp_path, transport) as platform:
        assert platform.push is not None
        url = platform.push.url("cam1")
        async with publishing(pattern, url, transport):
            await recording(platform.push)
            camera = await camera_at(platform, url)
            segments = await record_segments(platform, camera, 3, within_s=15)
        assert platform.push.stats.readers >= 1

    for segment in segments:
        seconds = (segment.end - segment.start).total_seconds()
        assert 0.9 <= seconds <= 1.2
        with av.open(str(tmp_path / "recordings" / segment.path), "r") as container:
            frames = list(container.decode(video=0))
        assert 24 <= len(frames) <= 27  # 1 s at 25 fps, cut at a keyframe
        assert (frames[0].width, frames[0].height) == (320, 180)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_when_the_publisher_leaves_the_recorder_records_a_gap_and_comes_back(
    pattern: Path, transport: str, tmp_path: Path
) -> None:
    async with push_platform(tmp_path, transport) as platform:
        assert platform.push is not None
        url = platform.push.url("cam1")
        gaps = platform.bus.subscribe("media.gap")
        job = asyncio.ensure_future(platform.background_jobs()["media-recording"]())
        try:
            async with publishing(pattern, url, transport):
                await recording(platform.push)
                camera = await camera_at(platform, url)
                await asyncio.sleep(2.5)
            assert platform.push.status(PATH) is None  # the publisher tore down
            await asyncio.sleep(1.0)
            async with publishing(pattern, url, transport):
                await recording(platform.push)
                async with asyncio.timeout(10):
                    async for delivery in gaps:
                        if isinstance(delivery.event, RecordingGapFound):
                            gap = delivery.event
                            break
        finally:
            job.cancel()
            await asyncio.gather(job, return_exceptions=True)
            await gaps.close()
    assert gap.camera_id == camera
    assert gap.cause == "source_lost"
    # off for about 1 s, FFmpeg restarting, one backoff (at most 1 s), the next keyframe;
    # a reader left waiting for its 5 s read timeout would make it longer
    assert 0.9 <= (gap.end - gap.start).total_seconds() <= 4.5


def probe(url: str, transport: str) -> list[dict[str, object]]:
    """The streams ffprobe finds at `url` (blocking)."""
    assert FFPROBE is not None
    command = [FFPROBE, "-v", "error", "-rtsp_transport", transport, "-of", "json"]
    command += ["-show_entries", "stream=codec_name,codec_type,width,height", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
    streams: list[dict[str, object]] = json.loads(done.stdout)["streams"]
    return streams


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_ffprobe_reads_a_pushed_stream_with_audio_back_from_the_ingest_point(
    pattern: Path, transport: str
) -> None:
    if not FOOTAGE.exists():
        pytest.skip(f"the footage {FOOTAGE} is not in this checkout's ../shared/data")
    server = PushServer(PushOptions(port=0))
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.wait_for(server.listening.wait(), 5)
        async with publishing(FOOTAGE, server.url("cam1"), transport):
            await recording(server)
            streams = await asyncio.to_thread(probe, server.url("cam1"), transport)
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
    assert streams[0] == {
        "codec_name": "h264",
        "codec_type": "video",
        "width": 768,
        "height": 432,
    }
    assert (streams[1]["codec_name"], streams[1]["codec_type"]) == ("aac", "audio")


async def test_a_second_publisher_on_the_same_path_is_refused(pattern: Path) -> None:
    server = PushServer(PushOptions(port=0))
    serving = asyncio.ensure_future(server.serve())
    try:
        await asyncio.wait_for(server.listening.wait(), 5)
        url = server.url("cam1")
        async with publishing(pattern, url, "tcp"):
            await recording(server)
            assert FFMPEG is not None
            second = await asyncio.create_subprocess_exec(
                *[FFMPEG, "-nostdin", "-loglevel", "error", "-re", "-i", str(pattern)],
                *["-c", "copy", "-f", "rtsp", url],
                stderr=asyncio.subprocess.PIPE,
            )
            _, errors = await asyncio.wait_for(second.communicate(), 10)
            assert second.returncode != 0
            assert b"455" in errors or b"Method Not Valid" in errors
            assert server.stats.publishers == 1
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
