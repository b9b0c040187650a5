"""N simulated ONVIF cameras and the WS-Discovery responder that announces them.

Camera i (from 1) listens on `port + i - 1` (or any free port when `port` is 0), is called
`cam-i`, has the serial `SIM` + i, a main profile on `main_urls[i-1]` and a sub-stream profile
on `sub_urls[i-1]` (the URLs of `safecity.sim.cameras.CameraServer`s).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from safecity.sim.onvif import OnvifCameraConfig, OnvifCameraSimulator
from safecity.sim.onvif_device import DeviceIdentity, StreamProfile
from safecity.sim.onvif_discovery import WsDiscoveryResponder


@dataclass(frozen=True, slots=True)
class VideoFormat:
    width: int
    height: int
    fps: float
    bitrate_kbps: int

    def profile(self, token: str, name: str, url: str) -> StreamProfile:
        return StreamProfile(token, name, url, self.width, self.height, self.fps, self.bitrate_kbps)


def fleet_configs(
    main_urls: Sequence[str],
    sub_urls: Sequence[str],
    *,
    main: VideoFormat,
    sub: VideoFormat,
    username: str = "admin",
    password: str = "admin",  # noqa: S107 - a simulator's factory default
) -> list[OnvifCameraConfig]:
    if len(main_urls) != len(sub_urls):
        raise ValueError("one sub-stream URL per main-stream URL")
    return [
        OnvifCameraConfig(
            profiles=(
                main.profile("profile_main", "MainStream", main_url),
                sub.profile("profile_sub", "SubStream", sub_url),
            ),
            username=username,
            password=password,
            identity=DeviceIdentity(serial=f"SIM{number:04d}"),
            name=f"cam-{number}",
        )
        for number, (main_url, sub_url) in enumerate(zip(main_urls, sub_urls, strict=True), 1)
    ]


class OnvifFleet:
    """`async with OnvifFleet(configs, port=0, discovery_port=0) as fleet:`; `discovery_port`
    None runs no responder, 3702 the real multicast one."""

    def __init__(
        self,
        configs: Sequence[OnvifCameraConfig],
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        discovery_host: str | None = None,
        discovery_port: int | None = None,
    ) -> None:
        self.cameras = [
            OnvifCameraSimulator(config, host=host, port=port + i if port else 0)
            for i, config in enumerate(configs)
        ]
        self.discovery: WsDiscoveryResponder | None = None
        if discovery_port is not None:
            self.discovery = WsDiscoveryResponder(
                self._announced, host=discovery_host or host, port=discovery_port
            )
        self._stack = contextlib.AsyncExitStack()

    def _announced(self) -> list[tuple[str, tuple[str, ...], str]]:
        return [
            (camera.config.endpoint, camera.config.scopes, camera.device_url)
            for camera in self.cameras
            if camera.running
        ]

    async def __aenter__(self) -> Self:
        async with contextlib.AsyncExitStack() as stack:
            for camera in self.cameras:
                await stack.enter_async_context(camera)
            if self.discovery is not None:
                await stack.enter_async_context(self.discovery)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.aclose()
