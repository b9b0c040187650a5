"""The simulated RTSP cameras as real clients see them: PyAV and FFmpeg's ffprobe read our
streams over TCP interleaved and UDP, from the real footage (H.264), the synthetic test
pattern (libx264) and an H.265 file, and the clip loops with continuous timestamps."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import av
import pytest

from safecity.protocols.rtp import H264Depacketizer, H265Depacketizer, RtpPacket, VideoCodec
from safecity.sim.camera_packets import PacketisedClip, datagrams, packetise, stamp
from safecity.sim.camera_source import Clip, encode_test_pattern, load_clip, synthetic_clip
from safecity.sim.cameras import CameraServer

REPO: Final = Path(__file__).resolve().parents[2]
FOOTAGE: Final = REPO.parent / "shared" / "data" / "footage" / "car-detection.mp4"
TRANSPORTS: Final = ["tcp", "udp"]

Frame = tuple[int | None, int, int]  # pts (90 kHz), width, height


@pytest.fixture(scope="module")
def synthetic() -> Clip:
    return synthetic_clip(seconds=2.0, width=320, height=180, fps=25)


@pytest.fixture(scope="module")
def footage() -> Clip:
    if not FOOTAGE.exists():
        pytest.skip(f"the footage {FOOTAGE} is not in this checkout's ../shared/data")
    return load_clip(FOOTAGE, max_seconds=2.0)


@pytest.fixture(scope="module")
def hevc(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    path = tmp_path_factory.mktemp("hevc") / "pattern-h265.mp4"
    encode_test_pattern(
        path, encoder="libx265", width=320, height=180, fps=25, seconds=1.0, gop_seconds=0.5
    )
    return load_clip(path)


@asynccontextmanager
async def serve(clip: Clip, count: int = 2) -> AsyncIterator[CameraServer]:
    async with CameraServer(packetise(clip), count=count, host="127.0.0.1", port=0) as server:
        yield server


def read_frames(url: str, transport: str, count: int) -> list[Frame]:
    """Decode `count` frames with PyAV (blocking: run it in a thread)."""
    frames: list[Frame] = []
    options = {"rtsp_transport": transport}
    with av.open(url, options=options, timeout=(10.0, 10.0)) as container:
        assert isinstance(container, av.container.InputContainer)
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            for frame in packet.decode():
                assert isinstance(frame, av.VideoFrame)
                frames.append((frame.pts, frame.width, frame.height))
                if len(frames) == count:
                    return frames
    return frames


def assert_continuous(frames: list[Frame], step: int, size: tuple[int, int]) -> None:
    """Every frame has the clip's size and, after the first, pts one frame interval apart."""
    assert {(width, height) for _, width, height in frames} == {size}
    times = [pts for pts, _, _ in frames if pts is not None]
    assert len(times) >= len(frames) - 1  # FFmpeg may leave the first frame without a pts
    assert [b - a for a, b in itertools.pairwise(times)] == [step] * (len(times) - 1)


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pyav_reads_the_synthetic_pattern_across_a_loop(
    synthetic: Clip, transport: str
) -> None:
    async with serve(synthetic) as server:
        count = len(synthetic.access_units) + 20  # 2 s loop, then 0.8 s more
        frames = await asyncio.to_thread(read_frames, server.urls[1], transport, count)
        assert len(frames) == count
        assert_continuous(frames, 3600, (320, 180))
        last = frames[-1][0]
        assert last is not None
        assert last > synthetic.period


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pyav_reads_the_footage_without_reencoding(footage: Clip, transport: str) -> None:
    async with serve(footage) as server:
        count = len(footage.access_units) + 8
        frames = await asyncio.to_thread(read_frames, server.urls[0], transport, count)
        assert len(frames) == count
        assert_continuous(frames, 7200, (768, 432))  # 12.5 fps


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_pyav_reads_an_h265_file_across_a_loop(hevc: Clip, transport: str) -> None:
    async with serve(hevc) as server:
        count = len(hevc.access_units) + 10
        frames = await asyncio.to_thread(read_frames, server.urls[0], transport, count)
        assert len(frames) == count
        assert_continuous(frames, 3600, (320, 180))


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("source", ["synthetic", "footage", "hevc"])
async def test_ffprobe_reads_every_source(
    source: str, transport: str, request: pytest.FixtureRequest
) -> None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe is not installed (Debian: apt-get install ffmpeg)")
    clip: Clip = request.getfixturevalue(source)
    count = len(clip.access_units) + 10
    async with serve(clip, count=1) as server:
        process = await asyncio.create_subprocess_exec(
            ffprobe,
            "-v", "error",
            "-rtsp_transport", transport,
            "-show_entries", "frame=pts,width,height",
            "-of", "csv=p=0",
            "-read_intervals", f"%+#{count}",
            server.urls[0],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(60):
            out, err = await process.communicate()
        assert process.returncode == 0, err.decode(errors="replace")
    frames: list[Frame] = []
    for line in out.decode().split():
        pts, width, height = line.split(",")[:3]
        frames.append((None if pts == "N/A" else int(pts), int(width), int(height)))
    step = round(90000 / clip.frame_rate)
    assert len(frames) >= count - 2  # ffprobe counts packets; the decoder may hold one or two
    assert_continuous(frames, step, (clip.width, clip.height))
    last = frames[-1][0]
    assert last is not None
    assert last > clip.period


async def test_server_lists_one_url_per_camera(synthetic: Clip) -> None:
    async with serve(synthetic, count=3) as server:
        assert server.urls == [f"rtsp://127.0.0.1:{server.port}/cam/{i}" for i in (1, 2, 3)]
        assert server.server_ports is not None
        assert server.server_ports[0] % 2 == 0


@pytest.mark.parametrize("source", ["synthetic", "hevc"])
def test_stamped_frames_are_rtp_packets_that_give_back_the_nal_units(
    source: str, request: pytest.FixtureRequest
) -> None:
    clip: Clip = request.getfixturevalue(source)
    packets = packetise(clip, max_payload=1000)
    depacketizer = H264Depacketizer() if clip.codec is VideoCodec.H264 else H265Depacketizer()
    sequence = 0xFFF0  # wraps within the first frames
    for frame, unit in zip(packets.frames[:5], clip.access_units, strict=False):
        buffer = stamp(frame, channel=0, sequence=sequence, timestamp=2**32 - 1 + unit.pts, ssrc=7)
        rtp = [RtpPacket.parse(bytes(d)) for d in datagrams(frame, buffer)]
        assert [p.sequence for p in rtp] == [(sequence + i) & 0xFFFF for i in range(len(rtp))]
        assert {(p.timestamp, p.ssrc, p.payload_type) for p in rtp} == {
            ((2**32 - 1 + unit.pts) & 0xFFFFFFFF, 7, 96)
        }
        assert [p.marker for p in rtp] == [False] * (len(rtp) - 1) + [True]
        assert [nal for p in rtp for nal in depacketizer.feed(p.payload)] == list(unit.nal_units)
        sequence += frame.packets


def test_packetised_clip_stays_within_the_payload_limit(synthetic: Clip) -> None:
    clip: PacketisedClip = packetise(synthetic, max_payload=1000)
    assert len(clip.frames) == len(synthetic.access_units)
    ends = [(*f.offsets[1:], len(f.template)) for f in clip.frames]
    sizes = [
        b - a - 4 - 12
        for f, e in zip(clip.frames, ends, strict=True)
        for a, b in zip(f.offsets, e, strict=True)
    ]
    assert max(sizes) <= 1000
