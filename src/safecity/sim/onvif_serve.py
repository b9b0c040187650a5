"""`safecity sim onvif`: N ONVIF cameras over two RTSP camera servers (main and sub-stream).

Main streams are 640x360 at 25 fps on `rtsp_port`, sub-streams 320x180 on any free port, both
the synthetic test pattern of `safecity.sim.camera_source`. With `events_every`, the cameras take
turns raising motion, then tamper, then clearing both, so a console shows events coming in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Final

from rich.console import Console
from rich.table import Table

from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import Clip, synthetic_clip
from safecity.sim.cameras import CameraServer
from safecity.sim.onvif_fleet import OnvifFleet, VideoFormat, fleet_configs

MAIN: Final = VideoFormat(640, 360, 25, 2048)
SUB: Final = VideoFormat(320, 180, 25, 512)
CLIP_S: Final = 10.0


async def serve_onvif(
    out: Console,
    *,
    host: str,
    port: int,
    count: int,
    rtsp_port: int,
    username: str,
    password: str,
    discovery_port: int,
    events_every: float | None,
    duration: float | None,
) -> None:
    main_clip, sub_clip = await asyncio.gather(
        asyncio.to_thread(_clip, MAIN), asyncio.to_thread(_clip, SUB)
    )
    async with (
        CameraServer(packetise(main_clip), count=count, host=host, port=rtsp_port) as main,
        CameraServer(packetise(sub_clip), count=count, host=host, port=0) as sub,
    ):
        configs = fleet_configs(
            main.urls, sub.urls, main=MAIN, sub=SUB, username=username, password=password
        )
        async with OnvifFleet(
            configs, host=host, port=port, discovery_port=discovery_port
        ) as fleet:
            out.print(_table(fleet))
            discovery = fleet.discovery.port if fleet.discovery is not None else None
            out.print(f"WS-Discovery on UDP {discovery}; user {username!r}", highlight=False)
            with contextlib.suppress(TimeoutError):  # --duration is up
                async with asyncio.timeout(duration):
                    if events_every is None:
                        await asyncio.Event().wait()
                    await _raise_events(fleet, events_every or 1.0, out)


def _clip(video: VideoFormat) -> Clip:
    return synthetic_clip(
        seconds=CLIP_S, width=video.width, height=video.height, fps=round(video.fps)
    )


async def _raise_events(fleet: OnvifFleet, every: float, out: Console) -> None:
    steps = itertools.cycle(["motion on", "tamper on", "motion off", "tamper off"])
    for camera, step in zip(itertools.cycle(fleet.cameras), steps, strict=False):
        await asyncio.sleep(every)
        kind, state = step.split()
        if kind == "motion":
            camera.trigger_motion(active=state == "on")
        else:
            camera.trigger_tamper(active=state == "on")
        out.print(f"{camera.config.name}: {step}", highlight=False)


def _table(fleet: OnvifFleet) -> Table:
    table = Table(title="ONVIF cameras", show_header=True)
    for column in ("name", "device service", "main stream", "sub-stream"):
        table.add_column(column, overflow="fold")
    for camera in fleet.cameras:
        main, sub = camera.config.profiles
        table.add_row(camera.config.name, camera.device_url, main.url, sub.url)
    return table
