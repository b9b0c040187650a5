"""The recording job's ONVIF-only cameras that did not answer at its start: shown offline, asked
again with capped exponential backoff until one gives its stream URI, never again once it
refuses the credentials."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from safecity.app_onvif import UNRESOLVED_REASON, LateStreams
from safecity.bus.memory import MemoryBus
from safecity.bus.port import Subscription
from safecity.core.backoff import Backoff
from safecity.core.errors import DeviceAuthFailed
from safecity.core.events import CameraWentOffline, Event
from safecity.org.streams import CameraStream, OnvifDevice
from safecity.testing.clock import FakeClock

BACKOFF = Backoff(initial_s=0.1, max_s=0.5)
URI = "rtsp://10.0.0.7/main"


def device(device_id: int) -> OnvifDevice:
    return OnvifDevice(
        device_id=device_id,
        gb_id=f"3402000000132000{device_id:04d}",
        point_id=1,
        org_path="/1/2/",
        name=f"camera {device_id}",
        url=f"http://10.0.0.{device_id}/onvif/device_service",
        username="admin",
        password="pw",
        stream_url=None,
        revision=datetime(2026, 1, 1, tzinfo=UTC),
    )


class FakeStreams:
    """`CameraStreams` as `LateStreams` sees it: the cameras left out, and each one's next
    answers (None: no answer, an exception: raised, a URI: its stream)."""

    def __init__(self, answers: dict[int, list[str | Exception | None]]) -> None:
        self.unresolved = [device(device_id) for device_id in answers]
        self.answers = answers
        self.asked: list[int] = []

    async def resolve(self, camera: OnvifDevice) -> CameraStream | None:
        self.asked.append(camera.device_id)
        queued = self.answers[camera.device_id]
        answer = queued.pop(0) if queued else None
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return None
        return CameraStream(camera.device_id, camera.gb_id, camera.org_path, answer)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def queued(subscription: Subscription) -> list[Event]:
    """The events waiting on `subscription` now."""
    events = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.05):
            async for delivery in subscription:
                events.append(delivery.event)
    return events


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_silent_camera_shows_offline_and_is_asked_with_capped_backoff() -> None:
    bus, clock, sleeps = MemoryBus(), FakeClock(), Sleeps()
    streams = FakeStreams({7: [None, None, None, None, URI]})
    events = bus.subscribe("media.camera.>")
    late = LateStreams(streams, bus, clock, BACKOFF, sleep=sleeps)

    await late.resolved()

    assert sleeps.waits == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert streams.asked == [7] * 5
    (offline,) = await queued(events)
    assert isinstance(offline, CameraWentOffline)
    assert (offline.camera_id, offline.org_path) == (7, "/1/2/")
    assert offline.since == offline.at == clock.now()
    assert offline.reason == UNRESOLVED_REASON


async def test_a_camera_refusing_the_credentials_is_not_asked_again_while_others_are() -> None:
    bus, sleeps = MemoryBus(), Sleeps()
    streams = FakeStreams({7: [None, DeviceAuthFailed("refused")], 8: [None, None, URI]})
    events = bus.subscribe("media.camera.>")

    await LateStreams(streams, bus, FakeClock(), BACKOFF, sleep=sleeps).resolved()

    assert sorted(streams.asked) == [7, 7, 8, 8, 8]
    assert sleeps.waits == [0.1, 0.2, 0.4]
    offline = await queued(events)
    assert sorted(e.camera_id for e in offline if isinstance(e, CameraWentOffline)) == [7, 8]


async def test_with_nothing_left_to_ask_it_waits_for_a_device_change() -> None:
    bus, sleeps = MemoryBus(), Sleeps()
    refused = FakeStreams({7: [DeviceAuthFailed("refused")]})
    nothing = FakeStreams({})
    waiting = [
        asyncio.ensure_future(LateStreams(s, bus, FakeClock(), BACKOFF, sleep=sleeps).resolved())
        for s in (refused, nothing)
    ]
    try:
        await settle()
        assert not any(wait.done() for wait in waiting)
    finally:
        for wait in waiting:
            wait.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
    assert refused.asked == [7]
    assert nothing.asked == []
    assert sleeps.waits == [0.1]
