"""The EventBus port.

Shaped for JetStream's at-least-once delivery: a subscriber receives `Delivery` objects and acks
each one once it has acted on it; an unacked delivery may come again (on a networked bus, after a
redelivery timeout or a restart), so handlers must be idempotent. Subjects are dot-separated
tokens; patterns use `*` for one token and `>` for the rest, as NATS does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from safecity.core.events import Event


@dataclass(frozen=True, slots=True)
class Delivery:
    subject: str
    event: Event
    sequence: int  # per-subscription, increasing; gaps mean the subscriber was overrun
    redelivered: bool = False


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Delivery]: ...

    async def ack(self, delivery: Delivery) -> None:
        """Confirm the delivery was handled; it will not come again."""
        ...

    @property
    def dropped(self) -> int:
        """How many events this subscriber lost to back-pressure (0 on a durable bus)."""
        ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Publish under `event.subject`. Never blocks forever: slow subscribers are overrun."""
        ...

    def subscribe(self, pattern: str, *, buffer: int = 1024) -> Subscription:
        """Receive events whose subject matches `pattern` from now on."""
        ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard semantics: `*` is one token, `>` (last) is one or more tokens."""
    p_tokens = pattern.split(".")
    s_tokens = subject.split(".")
    for index, token in enumerate(p_tokens):
        if token == ">":  # noqa: S105 (a subject token, not a password)
            return index == len(p_tokens) - 1 and len(s_tokens) > index
        if index >= len(s_tokens):
            return False
        if token not in ("*", s_tokens[index]):
            return False
    return len(p_tokens) == len(s_tokens)


async def settled_change(changes: Subscription, quiet_s: float = 1.0) -> None:
    """Return after the next event on `changes` and then `quiet_s` without another (a bulk
    import restarts what follows the registry once, not once per row)."""
    async for delivery in changes:
        await changes.ack(delivery)
        break
    while True:
        try:
            async with asyncio.timeout(quiet_s):
                async for delivery in changes:
                    await changes.ack(delivery)
                    break
        except TimeoutError:
            return
