"""The ingest records from a real third-party RTSP server: GStreamer's gst-rtsp-server from
Debian (`scripts/peers` installs it under CI), over TCP interleaved and UDP."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import av
import pytest

from safecity.app import open_platform
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.settings import load_settings
from safecity.store.secretbox import SecretBox
from tests.integration.recorded_segments import record_segments

pytestmark = pytest.mark.slow

SYSTEM_PYTHON: Final = Path("/usr/bin/python3")
SERVER: Final = Path(__file__).parent / "peers" / "gst_rtsp_server.py"
PROBE: Final = "import gi; gi.require_version('GstRtspServer', '1.0')"


def _gstreamer_missing() -> str | None:
    if not SYSTEM_PYTHON.exists():
        return "no /usr/bin/python3 with PyGObject"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", PROBE], capture_output=True, check=False)
    if probe.returncode != 0:
        return "GStreamer's RTSP server is not installed (gir1.2-gst-rtsp-server-1.0)"
    return None


@pytest.fixture(scope="module")
def gst_url() -> Iterator[str]:
    if (why := _gstreamer_missing()) is not None:
        pytest.skip(why)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with subprocess.Popen(
        [SYSTEM_PYTHON, SERVER, str(port)], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "ready"
            yield f"rtsp://127.0.0.1:{port}/test"
        finally:
            server.kill()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_a_camera_on_gstreamers_rtsp_server_is_recorded(
    gst_url: str, transport: str, tmp_path: Path
) -> None:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'store.db'}"},
        security={"master_key": SecretBox.new_key()},
        receiver={"enabled": False},
        media={
            "root": str(tmp_path / "recordings"),
            "segment_s": 1,
            "min_free_bytes": 0,
            "rtsp_transport": transport,
        },
    )
    async with open_platform(settings) as platform:
        await seed_demo_city(platform.services)
        point = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items[0]
        camera = await platform.services.devices.create(
            SEED_SCOPE,
            DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name="gst", stream_url=gst_url),
        )
        segments = await record_segments(platform, camera.id, 3)
        assert platform.recording is not None
        assert platform.recording.engines[camera.id] == "native"

    for segment in segments:
        with av.open(str(tmp_path / "recordings" / segment.path), "r") as container:
            frames = list(container.decode(video=0))
        assert len(frames) >= 25  # a segment of 1 s or more at 25 fps
        assert (frames[0].width, frames[0].height) == (320, 240)
