"""The demo's cameras: one simulated RTSP server whose streams the seeded camera devices point
at, so `safecity demo` records, and shows, real video from the first minute.

The footage is the real camera footage in `../shared/data/footage/` when this checkout has it
(the people-counting clip: street-like scenes would be better, but it is real video), and
otherwise the synthetic test pattern with a burnt-in clock, encoded once at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from safecity.api.deps import Services
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE
from safecity.org.models import DeviceKind, DevicePatch
from safecity.sim.camera_packets import PacketisedClip, packetise
from safecity.sim.camera_source import load_clip, synthetic_clip

FOOTAGE_NAME: Final = "one-by-one-person-detection.mp4"
CLIP_SECONDS: Final = 60.0  # of the footage, looped: enough to look live, small in memory


def footage_candidates(cwd: Path) -> list[Path]:
    """Where a checkout keeps the shared footage: beside the repository, seen from the working
    directory or from this source file (an editable install)."""
    here = Path(__file__).resolve()
    return [
        cwd.parent / "shared" / "data" / "footage" / FOOTAGE_NAME,
        cwd / "shared" / "data" / "footage" / FOOTAGE_NAME,
        here.parents[4] / "shared" / "data" / "footage" / FOOTAGE_NAME,
    ]


def demo_clip(footage: Path | None, cwd: Path) -> tuple[PacketisedClip, str]:
    """The clip every demo camera streams, and what it is."""
    candidates = [footage] if footage is not None else footage_candidates(cwd)
    for path in candidates:
        if path.is_file():
            return packetise(load_clip(path, max_seconds=CLIP_SECONDS)), str(path)
    return packetise(synthetic_clip(seconds=10.0)), "synthetic test pattern"


async def point_cameras_at(services: Services, urls: list[str]) -> int:
    """Give the seeded cameras the simulator's stream URLs, in id order; how many got one."""
    page = PageRequest(limit=10_000)
    cameras = (await services.devices.list(SEED_SCOPE, page, kind=DeviceKind.CAMERA)).items
    for device, url in zip(cameras, urls, strict=False):
        await services.devices.update(SEED_SCOPE, device.id, DevicePatch(stream_url=url))
    return min(len(cameras), len(urls))


async def camera_count(services: Services) -> int:
    page = PageRequest(limit=10_000)
    return len((await services.devices.list(SEED_SCOPE, page, kind=DeviceKind.CAMERA)).items)


async def first_camera_id(services: Services) -> int | None:
    """The first seeded camera that streams, for the live-view link the demo prints."""
    page = PageRequest(limit=10_000)
    cameras = (await services.devices.list(SEED_SCOPE, page, kind=DeviceKind.CAMERA)).items
    return next((c.id for c in cameras if c.stream_url), None)
