"""Motion and tamper events of the registry's ONVIF cameras, on the bus as core events.

```python
relay = CameraEventRelay(targets, bus)    # targets(): the cameras to listen to, read anew
await relay.run()                         # until cancelled
```
`run` starts one `OnvifEventListener` per target and publishes what each camera reports as
`safecity.core.events.CameraMotionDetected` / `CameraTamperDetected`, with the camera's id,
point and org path (so `/api/events` shows them only to callers in scope). When a device
changes (`org.device.>` on the bus: a camera added, re-addressed, disabled) it stops every
listener, after a second's quiet so a bulk import restarts them once, reads the targets again
and starts over. A camera that does not answer is retried by its listener (capped backoff); one
that refuses the credentials is logged once and left stopped until its device changes
(retrying would only lock the account). States a camera reports at subscription time are
published only when active (motion going on as we subscribe), flagged `initial`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import structlog

from safecity.adapters.onvif import events as camera_events
from safecity.adapters.onvif.camera import OnvifCamera
from safecity.adapters.onvif.listener import DEFAULT_BACKOFF, OnvifEventListener
from safecity.bus.port import EventBus, settled_change
from safecity.core import events
from safecity.core.backoff import Backoff
from safecity.core.clock import Clock, SystemClock
from safecity.core.errors import ConfigError, DeviceAuthFailed

_log = structlog.get_logger(__name__)

DEVICE_CHANGES: Final = "org.device.>"
DEFAULT_HTTP_PORT: Final = 80


@dataclass(frozen=True, slots=True)
class OnvifTarget:
    """One camera to listen to: where it is in the registry and how to reach its service."""

    camera_id: int
    point_id: int
    org_path: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)

    def camera(self, timeout_s: float) -> OnvifCamera:
        return OnvifCamera(self.host, self.port, self.username, self.password, timeout_s=timeout_s)


def service_address(url: str) -> tuple[str, int]:
    """Host and port of an ONVIF device service URL (`http://host[:port]/onvif/...`)."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_HTTP_PORT
    except ValueError as exc:
        raise ConfigError(f"ONVIF address {url!r} has an invalid port") from exc
    if parts.scheme != "http" or not parts.hostname:
        raise ConfigError(f"ONVIF address {url!r} is not http://host[:port]/...")
    return parts.hostname, port


@dataclass(frozen=True, slots=True)
class RelayOptions:
    backoff: Backoff = DEFAULT_BACKOFF
    timeout_s: float = 10.0  # one request
    pull_timeout_s: float = 5.0  # one long poll
    quiet_s: float = 1.0  # after a device change, before restarting


def core_event(target: OnvifTarget, event: camera_events.CameraEvent) -> events.Event | None:
    """The bus event for a camera's report; None for an inactive state at subscription time."""
    if event.initial and not event.active:
        return None
    kind: type[events.CameraMotionDetected] | type[events.CameraTamperDetected] = (
        events.CameraMotionDetected
        if isinstance(event, camera_events.CameraMotionDetected)
        else events.CameraTamperDetected
    )
    return kind(
        at=event.at,
        org_path=target.org_path,
        camera_id=target.camera_id,
        point_id=target.point_id,
        active=event.active,
        source=event.source,
        initial=event.initial,
    )


class CameraEventRelay:
    """See the module doc. `listeners` and `refused` (camera ids) show what runs."""

    def __init__(
        self,
        targets: Callable[[], Awaitable[Sequence[OnvifTarget]]],
        bus: EventBus,
        options: RelayOptions | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.targets = targets
        self.bus = bus
        self.options = options or RelayOptions()
        self.clock = clock or SystemClock()
        self.listeners: dict[int, OnvifEventListener] = {}
        self.refused: set[int] = set()

    async def run(self) -> None:
        changes = self.bus.subscribe(DEVICE_CHANGES)
        try:
            while True:
                targets = await self.targets()
                listening = asyncio.create_task(self._listen_all(targets), name="onvif-events")
                try:
                    await settled_change(changes, self.options.quiet_s)
                finally:
                    listening.cancel()
                    await asyncio.gather(listening, return_exceptions=True)
        finally:
            await changes.close()

    async def _listen_all(self, targets: Sequence[OnvifTarget]) -> None:
        self.listeners.clear()
        self.refused.clear()
        async with asyncio.TaskGroup() as group:
            for target in targets:
                group.create_task(self._listen(target), name=f"onvif-events-{target.camera_id}")

    async def _listen(self, target: OnvifTarget) -> None:
        async def publish(event: camera_events.CameraEvent) -> None:
            found = core_event(target, event)
            if found is not None:
                await self.bus.publish(found)

        options = self.options
        listener = OnvifEventListener(
            lambda: target.camera(options.timeout_s),
            publish,
            backoff=options.backoff,
            pull_timeout_s=options.pull_timeout_s,
            clock=self.clock,
        )
        self.listeners[target.camera_id] = listener
        try:
            await listener.run()
        except DeviceAuthFailed as error:
            self.refused.add(target.camera_id)
            _log.error(
                "onvif_credentials_refused",
                camera=target.camera_id,
                error=str(error),
                note="events stopped until the device changes",
            )
        except Exception:  # noqa: BLE001 (one camera's failure must not stop the others)
            _log.exception("onvif_events_failed", camera=target.camera_id)
