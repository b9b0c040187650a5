"""The event loop of one camera: subscribe, pull, renew, and reconnect with capped backoff.

```python
listener = OnvifEventListener(lambda: OnvifCamera(host, port, user, password), sink)
async with asyncio.TaskGroup() as group:
    group.create_task(listener.run())
```
`run` connects, creates a PullPoint subscription and long-polls it, handing every motion or
tamper event to `sink` (awaited: a slow sink slows the pulls, nothing piles up). When the
camera stops answering (`DeviceUnavailable`) or answers nonsense (`RemoteProtocolError`, e.g.
a subscription it forgot on reboot) the loop closes the connection, waits `backoff.delay(n)`
after the n-th failure in a row and starts again with a fresh connection and subscription;
a successful pull resets the count. `DeviceAuthFailed` ends `run` with that error (retrying
would only lock the account): the caller alerts. Clock and sleep are injected for tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, NoReturn

import structlog

from safecity.adapters.onvif.camera import OnvifCamera
from safecity.adapters.onvif.events import CameraEvent, camera_event
from safecity.adapters.onvif.pullpoint import PullPointSubscription
from safecity.core.backoff import Backoff
from safecity.core.clock import Clock, SystemClock
from safecity.core.errors import DeviceUnavailable, ProtocolError

_log = structlog.get_logger(__name__)

DEFAULT_BACKOFF: Final = Backoff(initial_s=0.5, max_s=30.0)


@dataclass
class ListenerStats:
    connected: bool = False
    subscriptions: int = 0  # subscriptions created (the first, then one per reconnect)
    failures: int = 0  # connection or subscription failures, all told
    events: int = 0
    ignored: int = 0  # notifications of other topics
    last_error: str | None = None


class OnvifEventListener:
    """Motion and tamper events of one camera, for as long as `run` runs."""

    def __init__(
        self,
        connect: Callable[[], OnvifCamera],
        sink: Callable[[CameraEvent], Awaitable[None]],
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        pull_timeout_s: float = 5.0,
        message_limit: int = 32,
        termination_s: float = 60.0,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.connect = connect
        self.sink = sink
        self.backoff = backoff
        self.pull_timeout_s = pull_timeout_s
        self.message_limit = message_limit
        self.termination_s = termination_s
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self.stats = ListenerStats()
        self.subscribed = asyncio.Event()  # set while a subscription is live
        self._pulled = False  # a pull succeeded since the last (re)connect

    async def run(self) -> None:
        """Until cancelled, or until the camera refuses our credentials (`DeviceAuthFailed`)."""
        failures = 0
        while True:
            try:
                await self._session()
            except (DeviceUnavailable, ProtocolError) as error:
                failures = 1 if self._pulled else failures + 1
                self.stats.failures += 1
                self.stats.last_error = str(error)
                delay = self.backoff.delay(failures)
                _log.warning(
                    "onvif_events_lost", error=str(error), retry_in_s=delay, failures=failures
                )
            finally:
                self.stats.connected = False
                self.subscribed.clear()
            await self.sleep(delay)

    async def _session(self) -> NoReturn:
        """One connection and subscription, until it fails."""
        self._pulled = False
        camera = self.connect()
        subscription = PullPointSubscription(
            camera, termination_s=self.termination_s, now=self.clock.monotonic()
        )
        async with camera, subscription:
            self.stats.subscriptions += 1
            self.stats.connected = True
            self.subscribed.set()
            _log.info("onvif_events_subscribed", camera=camera.address)
            while True:
                notifications = await subscription.pull(
                    timeout_s=self.pull_timeout_s, limit=self.message_limit
                )
                self._pulled = True
                for notification in notifications:
                    event = camera_event(camera.address, notification, self.clock.now())
                    if event is None:
                        self.stats.ignored += 1
                        continue
                    self.stats.events += 1
                    await self.sink(event)
                if subscription.renew_due(self.clock.monotonic()):
                    await subscription.renew(self.clock.monotonic())
