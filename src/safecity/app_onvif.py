"""The composition root's ONVIF part: the registry's cameras with an `onvif_url` get their main
stream resolved for the recorder (asked again with backoff, and shown offline, while one does
not answer), their motion and tamper events relayed to the bus, and PTZ.

Like `app.py`, this module may import concrete implementations: it joins the ONVIF adapter to
the registry (`org.streams`) and to the PTZ feature (`ptz`), which know nothing of each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Final, Protocol

import structlog

from safecity.adapters.onvif import MediaProfile, OnvifCamera, PtzVector
from safecity.adapters.onvif import PtzPreset as CameraPreset
from safecity.adapters.onvif.relay import (
    CameraEventRelay,
    OnvifTarget,
    RelayOptions,
    service_address,
)
from safecity.bus.port import EventBus, Subscription, settled_change
from safecity.core.backoff import Backoff
from safecity.core.clock import Clock
from safecity.core.errors import (
    ConfigError,
    Conflict,
    DeviceAuthFailed,
    DeviceUnavailable,
    NotFound,
    ProtocolError,
    RemoteProtocolError,
)
from safecity.core.events import CameraWentOffline
from safecity.core.scope import Scope
from safecity.org.devices import DeviceService
from safecity.org.models import DeviceKind
from safecity.org.streams import CameraStream, CameraStreams, OnvifDevice, StreamResolver
from safecity.ptz.models import PtzCamera, PtzMove, PtzPosition, PtzPreset
from safecity.ptz.service import AuditTrail, PtzCameraLookup, PtzService
from safecity.settings import OnvifSettings

_log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_S: Final = 5.0
UNRESOLVED_REASON: Final = "its ONVIF service did not give a stream URI"


def target_of(device: OnvifDevice) -> OnvifTarget:
    host, port = service_address(device.url)
    return OnvifTarget(
        camera_id=device.device_id,
        point_id=device.point_id,
        org_path=device.org_path,
        host=host,
        port=port,
        username=device.username or "",
        password=device.password or "",
    )


def onvif_targets(streams: CameraStreams) -> Callable[[], Awaitable[list[OnvifTarget]]]:
    """The relay's `targets`: the enabled cameras with an ONVIF address, read anew each time
    (one whose address cannot be used is logged and left out)."""

    async def targets() -> list[OnvifTarget]:
        found = []
        for device in await streams.onvif_devices():
            try:
                found.append(target_of(device))
            except ConfigError as error:
                _log.warning("onvif_address_unusable", camera=device.device_id, error=str(error))
        return found

    return targets


def main_profile(profiles: Sequence[MediaProfile]) -> MediaProfile:
    """The first profile: cameras list the main stream first."""
    if not profiles:
        raise RemoteProtocolError("the camera lists no media profile")
    return profiles[0]


class OnvifStreamResolver:
    """`resolve(device)`: the RTSP URI of a camera's first media profile, cached until the
    device changes (its address, credentials or anything else: the cache keys on its
    revision). A camera that does not answer gives None this time, and is asked again by
    `LateStreams`; one that refuses the credentials or has an unusable address raises
    (`DeviceAuthFailed`, `ConfigError`): asking again cannot help before the device changes,
    and retrying a refused password could lock the account."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._cache: dict[int, tuple[tuple[object, ...], str]] = {}

    async def resolve(self, device: OnvifDevice) -> str | None:
        key = (device.url, device.username, device.password, device.revision)
        cached = self._cache.get(device.device_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            host, port = service_address(device.url)
            camera = OnvifCamera(
                host, port, device.username or "", device.password or "", timeout_s=self.timeout_s
            )
            async with camera:
                uri = await camera.stream_uri(main_profile(await camera.profiles()).token)
        except (DeviceUnavailable, ProtocolError) as error:
            _log.warning("onvif_stream_unresolved", camera=device.device_id, error=str(error))
            return None
        except (ConfigError, DeviceAuthFailed) as error:
            _log.warning("onvif_stream_refused", camera=device.device_id, error=str(error))
            raise
        self._cache[device.device_id] = (key, uri)
        _log.info("onvif_stream_resolved", camera=device.device_id)
        return uri


class LateSources(Protocol):
    """What `LateStreams` needs of `org.streams.CameraStreams`."""

    @property
    def unresolved(self) -> Sequence[OnvifDevice]: ...

    async def resolve(self, device: OnvifDevice) -> CameraStream | None: ...


class LateStreams:
    """The ONVIF-only cameras the recording job started without, because their ONVIF service
    did not answer (`streams.unresolved` after its `sources()`). `resolved()` shows each
    offline on the bus (`CameraWentOffline`, as the recorder shows a dead camera), asks them
    again with capped exponential backoff and returns once one gives its stream URI: the job
    then starts over with it. One that now refuses the credentials (or whose address cannot be
    used) is not asked again; it waits for a device change, like the event relay's refused
    cameras. With nothing to ask, `resolved()` never returns."""

    def __init__(
        self,
        streams: LateSources,
        bus: EventBus,
        clock: Clock,
        backoff: Backoff,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.streams = streams
        self.bus = bus
        self.clock = clock
        self.backoff = backoff
        self.sleep = sleep

    async def resolved(self) -> None:
        pending = list(self.streams.unresolved)
        since = self.clock.now()
        for device in pending:
            offline = CameraWentOffline(
                at=since,
                org_path=device.org_path,
                camera_id=device.device_id,
                since=since,
                reason=UNRESOLVED_REASON,
            )
            await self.bus.publish(offline)
        failures = 0
        while pending:
            failures += 1
            await self.sleep(self.backoff.delay(failures))
            answers = await asyncio.gather(*(self._ask(device) for device in pending))
            if any(answer is True for answer in answers):
                return
            pending = [d for d, answer in zip(pending, answers, strict=True) if answer is None]
        await asyncio.Event().wait()  # nothing left to ask: only a device change helps

    async def _ask(self, device: OnvifDevice) -> bool | None:
        """True: it gave its stream; None: no answer yet; False: refused, do not ask again."""
        try:
            stream = await self.streams.resolve(device)
        except (ConfigError, DeviceAuthFailed):
            return False
        if stream is None:
            return None
        _log.info("onvif_stream_resolved_late", camera=device.device_id)
        return True


async def recording_restart(
    changes: Subscription,
    streams: CameraStreams,
    bus: EventBus,
    clock: Clock,
    settings: OnvifSettings,
) -> None:
    """What the recording job awaits before it starts over: a settled device change
    (`settled_change(changes)`), or one of the cameras it started without giving its stream URI
    at last (`LateStreams`, on `settings`' reconnect backoff)."""
    backoff = Backoff(initial_s=settings.reconnect_min_s, max_s=settings.reconnect_max_s)
    late = LateStreams(streams, bus, clock, backoff)
    waits = [
        asyncio.ensure_future(settled_change(changes)),
        asyncio.ensure_future(late.resolved()),
    ]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in done:
            wait.result()  # a failure of either is the job's
    finally:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


def ptz_cameras(devices: DeviceService, streams: CameraStreams) -> PtzCameraLookup:
    """A camera in the caller's subtree with its ONVIF address: `NotFound` outside it (or not a
    camera), `Conflict` when it has no ONVIF address."""

    async def lookup(scope: Scope, camera_id: int) -> PtzCamera:
        device = await devices.get(scope, camera_id)
        if device.kind is not DeviceKind.CAMERA or not scope.covers_path(device.org_path):
            raise NotFound(f"camera {camera_id} not found")
        onvif = await streams.onvif_device(device.id)
        if onvif is None:
            raise Conflict(f"camera {camera_id} has no ONVIF address: set its onvif_url first")
        return PtzCamera(
            id=device.id,
            point_id=device.point_id,
            org_path=device.org_path,
            name=device.name,
            onvif_url=onvif.url,
            username=onvif.username,
            password=onvif.password,
            revision=onvif.revision.isoformat(),
        )

    return lookup


def _position(vector: PtzVector | None) -> PtzPosition | None:
    if vector is None:
        return None
    return PtzPosition(pan=vector.pan, tilt=vector.tilt, zoom=vector.zoom)


def _preset(preset: CameraPreset) -> PtzPreset:
    return PtzPreset(token=preset.token, name=preset.name, position=_position(preset.position))


class OnvifPtzDriver:
    """`ptz.service.PtzDriver` over ONVIF: one connection per command, on the PTZ profile (the
    first profile with a PTZ configuration, else the first), whose token is cached per device
    revision."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._profiles: dict[int, tuple[str, str]] = {}  # camera id -> (revision, token)

    async def move(self, camera: PtzCamera, move: PtzMove) -> None:
        duration = None if move.timeout_s is None else timedelta(seconds=move.timeout_s)
        async with self._connect(camera) as device:
            token = await self._profile(camera, device)
            velocity = PtzVector(pan=move.pan, tilt=move.tilt, zoom=move.zoom)
            await device.ptz.continuous_move(token, velocity, duration=duration)

    async def stop(self, camera: PtzCamera) -> None:
        async with self._connect(camera) as device:
            await device.ptz.stop(await self._profile(camera, device))

    async def presets(self, camera: PtzCamera) -> list[PtzPreset]:
        async with self._connect(camera) as device:
            found = await device.ptz.presets(await self._profile(camera, device))
        return [_preset(preset) for preset in found]

    async def set_preset(self, camera: PtzCamera, name: str) -> PtzPreset:
        async with self._connect(camera) as device:
            token = await self._profile(camera, device)
            preset = await device.ptz.set_preset(token, name)
            status = await device.ptz.status(token)
        return PtzPreset(token=preset, name=name, position=_position(status.position))

    async def goto_preset(self, camera: PtzCamera, token: str) -> None:
        async with self._connect(camera) as device:
            profile = await self._profile(camera, device)
            if token not in {preset.token for preset in await device.ptz.presets(profile)}:
                raise NotFound(f"camera {camera.id} has no preset {token!r}")
            await device.ptz.goto_preset(profile, token)

    def _connect(self, camera: PtzCamera) -> OnvifCamera:
        host, port = service_address(camera.onvif_url)
        return OnvifCamera(
            host, port, camera.username or "", camera.password or "", timeout_s=self.timeout_s
        )

    async def _profile(self, camera: PtzCamera, device: OnvifCamera) -> str:
        cached = self._profiles.get(camera.id)
        if cached is not None and cached[0] == camera.revision:
            return cached[1]
        profiles = await device.profiles()
        chosen = next((p for p in profiles if p.ptz), None) or main_profile(profiles)
        self._profiles[camera.id] = (camera.revision, chosen.token)
        return chosen.token


def stream_resolver(settings: OnvifSettings) -> StreamResolver | None:
    """What `CameraStreams` asks for a camera's main stream, unless resolving is off."""
    return OnvifStreamResolver(settings.timeout_s).resolve if settings.resolve_streams else None


def ptz_service(
    settings: OnvifSettings, devices: DeviceService, streams: CameraStreams, audit: AuditTrail
) -> PtzService:
    return PtzService(ptz_cameras(devices, streams), OnvifPtzDriver(settings.timeout_s), audit)


def event_relay(
    settings: OnvifSettings, streams: CameraStreams, bus: EventBus, clock: Clock
) -> CameraEventRelay | None:
    """The `onvif-events` job's relay, unless events are off."""
    if not settings.events:
        return None
    options = RelayOptions(
        backoff=Backoff(initial_s=settings.reconnect_min_s, max_s=settings.reconnect_max_s),
        timeout_s=settings.timeout_s,
        pull_timeout_s=settings.pull_timeout_s,
    )
    return CameraEventRelay(onvif_targets(streams), bus, options, clock=clock)
