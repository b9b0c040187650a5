"""One ONVIF camera through onvif-zeep-async: connect, identity, media profiles, stream URIs.

```python
async with OnvifCamera("10.0.0.7", 80, "admin", password) as camera:
    info = await camera.device_information()
    main, sub = (await camera.streams())[:2]       # RTSP URIs of the first two profiles
    await camera.ptz.continuous_move(main.profile.token, PtzVector(pan=0.3))
```
Connecting reads the service addresses (GetServices, else GetCapabilities). Every request
carries a WS-Security UsernameToken with a password digest (the library's), runs under our own
timeout (`timeout_s`) and maps what the libraries raise into `safecity.core.errors` once, in
`call`. WSDLs come from the onvif-zeep-async package (`WSDL_DIR`) and zeep's transport there
refuses anything but local files, so nothing is ever downloaded; its SQLite cache is off.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Final, Self

from safecity.adapters.onvif.faults import onvif_errors
from safecity.adapters.onvif.library import WSDL_DIR, ONVIFCamera
from safecity.adapters.onvif.models import (
    DeviceInformation,
    MediaProfile,
    ProfileStream,
    profile_from,
)
from safecity.adapters.onvif.ptz import PtzControl
from safecity.core.errors import RemoteProtocolError

DEFAULT_TIMEOUT_S: Final = 10.0
STREAM_SETUP: Final = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


class OnvifCamera:
    """An async context manager around the library's `ONVIFCamera` (see the module doc)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        adjust_time: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._username = username
        self._password = password
        self._adjust_time = adjust_time
        self._device: Any = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def __aenter__(self) -> Self:
        device = ONVIFCamera(
            self.host,
            self.port,
            self._username,
            self._password,
            wsdl_dir=WSDL_DIR,
            no_cache=True,  # zeep's SqliteCache writes under the home directory; WSDLs are local
            adjust_time=self._adjust_time,
        )
        self._device = device
        try:
            async with onvif_errors(self.address, "connect"), asyncio.timeout(self.timeout_s):
                await device.update_xaddrs()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            await device.close()

    @property
    def services(self) -> frozenset[str]:
        """Namespaces of the services the camera announced."""
        return frozenset(self._require().xaddrs)

    def set_service_address(self, namespace: str, address: str) -> None:
        """Point one service (a subscription's manager) at the address the camera gave."""
        self._require().xaddrs[namespace] = address

    async def call(
        self,
        service: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        port_type: str | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Call `operation` of `service` (`devicemgmt`, `media`, `ptz`, `events`, `pullpoint`,
        `subscription`); the answer is zeep's object. Raises only `safecity.core.errors`."""
        device = self._require()
        async with (
            onvif_errors(self.address, operation),
            asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s),
        ):
            proxy = await device.create_onvif_service(service, port_type=port_type)
            return await getattr(proxy, operation)(params)

    async def device_information(self) -> DeviceInformation:
        answer = await self.call("devicemgmt", "GetDeviceInformation")
        return DeviceInformation(
            manufacturer=str(answer.Manufacturer or ""),
            model=str(answer.Model or ""),
            firmware=str(answer.FirmwareVersion or ""),
            serial=str(answer.SerialNumber or ""),
            hardware=str(answer.HardwareId or ""),
        )

    async def profiles(self) -> tuple[MediaProfile, ...]:
        """The media profiles in the camera's order: main stream first, sub-stream after, as
        cameras list them."""
        answer = await self.call("media", "GetProfiles")
        try:
            return tuple(profile_from(value) for value in answer or [])
        except (AttributeError, TypeError, ValueError) as exc:
            raise RemoteProtocolError(f"GetProfiles at {self.address}: {exc}") from exc

    async def stream_uri(self, profile_token: str) -> str:
        """The RTSP URI of one profile (RTP unicast over RTSP)."""
        answer = await self.call(
            "media", "GetStreamUri", {"StreamSetup": STREAM_SETUP, "ProfileToken": profile_token}
        )
        uri = getattr(answer, "Uri", None)
        if not uri:
            raise RemoteProtocolError(f"GetStreamUri at {self.address} gave no URI")
        return str(uri)

    async def streams(self) -> tuple[ProfileStream, ...]:
        """Every profile with its RTSP URI: `[0]` is the main stream, `[1]` the sub-stream."""
        return tuple(
            [
                ProfileStream(profile, await self.stream_uri(profile.token))
                for profile in await self.profiles()
            ]
        )

    @property
    def ptz(self) -> PtzControl:
        return PtzControl(self)

    def _require(self) -> Any:
        if self._device is None:
            raise RuntimeError("use `async with OnvifCamera(...)` first")
        return self._device
