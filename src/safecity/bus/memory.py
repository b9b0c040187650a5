"""In-process EventBus: one bounded queue per subscriber.

Back-pressure: `publish` waits up to `publish_timeout` seconds for room in a full subscriber
queue, then drops that subscriber's oldest event (counted in `dropped`) so the publisher always
moves on. Ack is a no-op here: an in-process bus has nothing to redeliver after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final

import structlog

from safecity.bus.port import Delivery, subject_matches
from safecity.core.events import Event

_log = structlog.get_logger(__name__)
_CLOSED: Final = object()


class MemorySubscription:
    def __init__(self, bus: MemoryBus, pattern: str, buffer: int) -> None:
        self._bus = bus
        self.pattern = pattern
        self._queue: asyncio.Queue[Delivery | object] = asyncio.Queue(maxsize=buffer)
        self._sequence = 0
        self._dropped = 0
        self._closed = False

    @property
    def dropped(self) -> int:
        return self._dropped

    async def offer(self, subject: str, event: Event, wait_s: float) -> None:
        if self._closed:
            return
        self._sequence += 1
        delivery = Delivery(subject=subject, event=event, sequence=self._sequence)
        if not self._queue.full():  # the usual case: no wait, no task, nothing to cancel
            self._queue.put_nowait(delivery)
            return
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the put completes, and a cancelled publisher must stop.
            async with asyncio.timeout(wait_s):
                await self._queue.put(delivery)
        except TimeoutError:
            if self._closed:  # close() ran while we waited: keep its end marker, drop this one
                return
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
            self._dropped += 1
            self._queue.put_nowait(delivery)
            _log.warning("bus.subscriber_overrun", pattern=self.pattern, dropped=self._dropped)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery]:
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                return
            assert isinstance(item, Delivery)
            yield item

    async def ack(self, delivery: Delivery) -> None:  # noqa: ARG002 (nothing to redeliver in-process)
        return None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._bus.remove(self)
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self._queue.get_nowait()
        self._queue.put_nowait(_CLOSED)


class MemoryBus:
    def __init__(self, *, publish_timeout: float = 0.05) -> None:
        self._subscriptions: list[MemorySubscription] = []
        self._publish_timeout = publish_timeout

    def subscribe(self, pattern: str, *, buffer: int = 1024) -> MemorySubscription:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        subscription = MemorySubscription(self, pattern, buffer)
        self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: MemorySubscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    async def publish(self, event: Event) -> None:
        subject = event.subject
        for subscription in list(self._subscriptions):
            if subject_matches(subscription.pattern, subject):
                await subscription.offer(subject, event, self._publish_timeout)
