"""One camera's live fragments shared by all its viewers, on the event loop's thread.

The channel keeps the current init segment and the fragments since the latest keyframe (the
current GOP), so a viewer who joins gets init + GOP and starts playing at once instead of
waiting for the next keyframe. Each viewer has a bounded queue: a viewer that falls behind
(its queue is full: a slow network or a stalled browser) loses what is queued and skips to the
next keyframe, so a slow viewer costs a bounded amount of memory and never slows the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from safecity.media.fragmenter import InitSegment, LiveItem, MediaFragment
from safecity.media.latency import LatencyStats


@dataclass(frozen=True, slots=True)
class ViewerLimits:
    max_fragments: int = 250  # 10 s at 25 fps
    max_bytes: int = 16 << 20
    max_gop_bytes: int = 32 << 20  # a longer GOP is not cached: joiners wait for a keyframe


class ViewerClosed(Exception):
    """The viewer was closed (it left, or its camera's channel stopped)."""


class LiveViewer:
    """One viewer's queue; iterate it for init segments and fragments in order."""

    def __init__(
        self,
        limits: ViewerLimits,
        stats: LatencyStats,
        on_close: Callable[[LiveViewer], None],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._stats = stats
        self._on_close = on_close
        self._now = now
        self._queue: deque[LiveItem] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._skipping = False
        self.closed = False
        self.skips = 0  # times this viewer fell behind
        self.skipped = 0  # fragments it lost

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, item: LiveItem) -> None:
        """Queue one item (loop thread). An init segment is always kept."""
        if isinstance(item, MediaFragment):
            if self._skipping and not item.keyframe:
                self.skipped += 1
                return
            self._skipping = False
            if self._full(len(item.data)):
                self._fall_behind()
                if not item.keyframe:
                    self.skipped += 1
                    return
                self._skipping = False
        self._queue.append(item)
        self._bytes += len(item.data)
        self._wake.set()

    async def next(self) -> LiveItem:
        """The next item; `ViewerClosed` once closed."""
        while not self._queue:
            if self.closed:
                raise ViewerClosed
            self._wake.clear()
            await self._wake.wait()
        if self.closed:
            raise ViewerClosed
        item = self._queue.popleft()
        self._bytes -= len(item.data)
        return item

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> LiveItem:
        try:
            return await self.next()
        except ViewerClosed:
            raise StopAsyncIteration from None

    def sent(self, item: LiveItem) -> None:
        """The item went out on the socket: record its latency (live fragments only)."""
        if isinstance(item, MediaFragment) and item.live:
            self._stats.observe(self._now() - item.arrived)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._bytes = 0
        self._wake.set()
        self._on_close(self)

    def _full(self, size: int) -> bool:
        limits = self._limits
        return len(self._queue) >= limits.max_fragments or self._bytes + size > limits.max_bytes

    def _fall_behind(self) -> None:
        """Drop the queued fragments (the last init segment stays) and wait for a keyframe."""
        init = next((i for i in reversed(self._queue) if isinstance(i, InitSegment)), None)
        self.skipped += sum(isinstance(i, MediaFragment) for i in self._queue)
        self._queue.clear()
        self._bytes = 0
        if init is not None:
            self._queue.append(init)
            self._bytes = len(init.data)
        self.skips += 1
        self._skipping = True


class LiveChannel:
    """A camera's init segment, current GOP and viewers."""

    def __init__(
        self,
        camera_id: int,
        limits: ViewerLimits,
        stats: LatencyStats,
        on_empty: Callable[[LiveChannel], None],
    ) -> None:
        self.camera_id = camera_id
        self._limits = limits
        self._stats = stats
        self._on_empty = on_empty
        self.init: InitSegment | None = None
        self.gop: list[MediaFragment] = []
        self._gop_bytes = 0
        self.viewers: set[LiveViewer] = set()
        self.closed = False
        self.published = 0  # fragments
        self.trace: Callable[[MediaFragment], None] | None = None  # sees every live fragment

    def join(self) -> LiveViewer:
        """A new viewer, primed with the init segment and the current GOP (not measured)."""
        viewer = LiveViewer(self._limits, self._stats, self._leave)
        if self.init is not None:
            viewer.offer(self.init)
            for fragment in self.gop:
                viewer.offer(dataclasses.replace(fragment, live=False))
        self.viewers.add(viewer)
        return viewer

    def publish(self, items: list[LiveItem]) -> None:
        """Items from the camera's fragmenter (loop thread, via `call_soon_threadsafe`)."""
        if self.closed:
            return
        for item in items:
            self._remember(item)
            if self.trace is not None and isinstance(item, MediaFragment):
                self.trace(item)
            for viewer in tuple(self.viewers):
                viewer.offer(item)

    def close(self) -> None:
        """Stop: every viewer's iteration ends."""
        self.closed = True
        for viewer in tuple(self.viewers):
            viewer.close()

    def _remember(self, item: LiveItem) -> None:
        if isinstance(item, InitSegment):
            self.init = item
            self.gop, self._gop_bytes = [], 0
            return
        self.published += 1
        if item.keyframe:
            self.gop, self._gop_bytes = [], 0
        elif not self.gop:
            return  # the GOP was too long to keep: wait for the next keyframe
        if self._gop_bytes + len(item.data) > self._limits.max_gop_bytes:
            self.gop, self._gop_bytes = [], 0
            return
        self.gop.append(item)
        self._gop_bytes += len(item.data)

    def _leave(self, viewer: LiveViewer) -> None:
        self.viewers.discard(viewer)
        if not self.viewers and not self.closed:
            self.closed = True
            self._on_empty(self)
