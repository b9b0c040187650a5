"""The receiver's in-memory view of alarm accounts and their AES keys.

Looking up an account must not touch the store (thousands of frames a second), so the receiver
keeps every enabled account's key in memory. It loads them at start and again after any
`alarms.account.*` event on the bus, so a new or re-keyed account is accepted within moments of
being saved, and a deleted one gets DUH.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Final

import structlog

from safecity.bus.port import EventBus
from safecity.core.errors import StoreUnavailable
from safecity.protocols.dc09 import AccountKey

_log = structlog.get_logger(__name__)

ACCOUNT_EVENTS: Final = "alarms.account.>"

KeyLoader = Callable[[], Awaitable[dict[str, AccountKey]]]


class AccountCache:
    """`lookup(account)` from memory; `follow(bus)` keeps it current."""

    def __init__(self, load: KeyLoader, *, retry_s: float = 5.0) -> None:
        self._load = load
        self._retry_s = retry_s
        self._keys: dict[str, AccountKey] = {}
        self.loaded = asyncio.Event()
        self._changed = asyncio.Event()

    def lookup(self, account: str) -> AccountKey | None:
        return self._keys.get(account)

    def __len__(self) -> int:
        return len(self._keys)

    def snapshot(self) -> dict[str, AccountKey]:
        """Every key as last loaded: a new dict after each reload, never changed in place (a
        receiver in another process is sent it whole)."""
        return self._keys

    async def changed(self) -> None:
        """Return after the next reload."""
        await self._changed.wait()

    async def refresh(self) -> None:
        """Reload every key; keep the old view if the store does not answer."""
        try:
            self._keys = await self._load()
        except StoreUnavailable as exc:
            _log.warning("dc09.accounts.reload_failed", error=str(exc))
            return
        self.loaded.set()
        self._changed.set()  # wake whoever waits, then re-arm for the next reload
        self._changed = asyncio.Event()

    async def follow(self, bus: EventBus) -> None:
        """Load now, then reload after every account change (retrying a failed load) until
        cancelled. Changes that arrive together cause one reload."""
        subscription = bus.subscribe(ACCOUNT_EVENTS, buffer=1000)
        events = aiter(subscription)
        try:
            await self.refresh()
            while True:
                timeout = None if self.loaded.is_set() else self._retry_s
                with contextlib.suppress(TimeoutError):
                    delivery = await asyncio.wait_for(anext(events), timeout)
                    await subscription.ack(delivery)
                await self.refresh()
        finally:
            await subscription.close()


class RateLimitedWarning:
    """Log a warning for a key at most once per `every_s`, counting what it held back."""

    def __init__(self, event: str, *, every_s: float = 60.0) -> None:
        self._event = event
        self._every_s = every_s
        self._last: dict[str, tuple[float, int]] = {}

    def __call__(self, key: str, **fields: object) -> None:
        now = time.monotonic()
        last, held = self._last.get(key, (float("-inf"), 0))
        if now - last < self._every_s:
            self._last[key] = (last, held + 1)
            return
        if len(self._last) > 10_000:  # a scan over random account numbers must not grow it
            self._last.clear()
        self._last[key] = (now, 0)
        _log.warning(self._event, key=key, suppressed=held, **fields)
