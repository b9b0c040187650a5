"""Live view: fragmented MP4 for the browser's Media Source Extensions, and JPEG snapshots.

Per camera, one fragmenter shared by every viewer, running only while someone watches: the first
viewer registers a listener on the camera's packet tap (the recorder's thread calls it for every
packet; with ingest workers, the thread reading the camera's worker), the last one to leave
removes it. The listener remuxes on the recorder thread
(`fragmenter`), then hands the results to the event loop with one `call_soon_threadsafe` per
packet; there the camera's channel (`fanout`) keeps init + current GOP and fills each viewer's
bounded queue. The first viewer of a camera starts at once too: the listener primes the
fragmenter with the current GOP from the ring buffer. Arrival-to-send latency of every live
fragment is recorded in `stats`.

Access: the API calls `open`/`snapshot` once per request, and the check and the audit record
happen here, before any video. The camera lookup is injected (the composition root builds it
from the registry's device service, as for evidence export: feature packages do not import each
other), so a camera outside the caller's subtree and grants is `NotFound`; a partner whose grant
on its point lacks the `live` right is refused (`PermissionDenied`). The audit trail is injected
too (the access package's audit service fits `AuditTrail`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import structlog

from safecity.core.errors import DeviceUnavailable, PermissionDenied
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Scope
from safecity.media.cameras import CameraLookup, CameraRef
from safecity.media.fanout import LiveChannel, LiveViewer, ViewerLimits
from safecity.media.fragmenter import LiveFragmenter, LiveItem, MediaFragment
from safecity.media.latency import LatencyStats
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.snapshot import keyframe_jpeg
from safecity.media.tap import Gop, PacketTap, StreamInfo

_log = structlog.get_logger(__name__)

VIEW_ACTION: Final = "live.view"
SNAPSHOT_ACTION: Final = "live.snapshot"


class PacketSources(Protocol):
    """Where a camera's packets come from on this node (the recording service, whether its
    engines run on threads here or in ingest worker processes)."""

    def ring(self, camera_id: int) -> RingBuffer | None:
        """At least the current GOP, read on the tap's thread to prime a first viewer."""
        ...

    def tap(self, camera_id: int) -> PacketTap: ...

    async def current_gop(self, camera_id: int) -> Gop | None:
        """The stream and its packets from the latest keyframe; None while it has none."""
        ...


class AuditTrail(Protocol):
    async def record(
        self,
        scope: Scope,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class LiveOptions:
    limits: ViewerLimits = field(default_factory=ViewerLimits)
    max_jump_s: float = 2.0


@dataclass(frozen=True, slots=True)
class LiveView:
    """An open live view: the camera and the viewer's queue (close it when done)."""

    camera: CameraRef
    viewer: LiveViewer

    def close(self) -> None:
        self.viewer.close()


class _Feed:
    """The tap listener of one channel: remuxes on the recorder thread, posts to the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        channel: LiveChannel,
        ring: Callable[[], RingBuffer | None],
        max_jump_s: float,
    ) -> None:
        self._loop = loop
        self._channel = channel
        self._ring = ring
        self._fragmenter = LiveFragmenter(max_jump_s=max_jump_s)
        self._primed = False

    def packet(self, stream: StreamInfo, packet: RingPacket, arrived: float) -> None:
        items: list[LiveItem] = []
        if not self._primed:
            # The recorder calls us before it pushes `packet` to the ring: the ring holds the
            # current GOP up to the packet before it (none needed if this one is a keyframe).
            self._primed = True
            ring = self._ring()
            if ring is not None and not packet.keyframe:
                for old in ring.last(0):
                    items += self._fragmenter.push(stream, old, arrived, live=False)
        items += self._fragmenter.push(stream, packet, arrived)
        if items:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody watches
                self._loop.call_soon_threadsafe(self._channel.publish, items)


class LiveService:
    """Opens live views and snapshots of the cameras this node records."""

    def __init__(
        self,
        cameras: CameraLookup,
        audit: AuditTrail,
        recording: PacketSources | None,
        options: LiveOptions | None = None,
    ) -> None:
        self._cameras = cameras
        self._audit = audit
        self._recording = recording
        self.options = options or LiveOptions()
        self.stats = LatencyStats()
        # Called on the loop with (camera id, fragment) as each fragment is published, for
        # benchmarks that time the path beyond the socket (set it before the first viewer).
        self.trace: Callable[[int, MediaFragment], None] | None = None
        self._channels: dict[int, tuple[LiveChannel, _Feed, PacketTap]] = {}

    def channel(self, camera_id: int) -> LiveChannel | None:
        """The camera's running channel, if anyone watches it."""
        found = self._channels.get(camera_id)
        return None if found is None else found[0]

    async def open(self, scope: Scope, camera_id: int, source: str | None = None) -> LiveView:
        """Check and audit, then join the camera's channel (starting it for the first viewer).
        `NotFound` outside the caller's view; `DeviceUnavailable` if this node has no video."""
        recording = self._recording
        camera = await self._allowed(scope, camera_id)
        if recording is None:
            raise DeviceUnavailable("live video is off: this node does not record cameras")
        await self._audit.record(
            scope, VIEW_ACTION, f"device:{camera.id}", camera.org_path, _detail(camera, source)
        )
        found = self._channels.get(camera.id)
        if found is None:
            found = self._start(recording, camera.id)
        viewer = found[0].join()
        _log.info("live.view", camera=camera.id, user=scope.username, viewers=len(found[0].viewers))
        return LiveView(camera, viewer)

    async def snapshot(self, scope: Scope, camera_id: int, source: str | None = None) -> bytes:
        """A JPEG of the camera's latest keyframe; `DeviceUnavailable` while it has none."""
        camera = await self._allowed(scope, camera_id)
        recording = self._recording
        gop = None if recording is None else await recording.current_gop(camera.id)
        if gop is None or not gop.packets:
            raise DeviceUnavailable(f"camera {camera.id} has no video yet: try again shortly")
        jpeg = await asyncio.to_thread(keyframe_jpeg, gop.stream, gop.packets[0])
        await self._audit.record(
            scope, SNAPSHOT_ACTION, f"device:{camera.id}", camera.org_path, _detail(camera, source)
        )
        return jpeg

    def close(self) -> None:
        """Stop every channel (shutdown): the viewers' iterations end."""
        for channel, _, _ in list(self._channels.values()):
            channel.close()
            self._stop(channel)

    async def _allowed(self, scope: Scope, camera_id: int) -> CameraRef:
        require(scope, Resource.LIVE, Action.READ)
        camera = await self._cameras(scope, camera_id)
        if not scope.has_right(camera.point_id, camera.org_path, Right.LIVE):
            raise PermissionDenied("live view needs the live right on this camera")
        return camera

    def _start(
        self, recording: PacketSources, camera_id: int
    ) -> tuple[LiveChannel, _Feed, PacketTap]:
        channel = LiveChannel(camera_id, self.options.limits, self.stats, self._stop)
        if self.trace is not None:
            channel.trace = functools.partial(self.trace, camera_id)
        feed = _Feed(
            asyncio.get_running_loop(),
            channel,
            lambda: recording.ring(camera_id),
            self.options.max_jump_s,
        )
        tap = recording.tap(camera_id)
        self._channels[camera_id] = (channel, feed, tap)
        tap.add(feed)
        _log.info("live.started", camera=camera_id)
        return channel, feed, tap

    def _stop(self, channel: LiveChannel) -> None:
        found = self._channels.get(channel.camera_id)
        if found is None or found[0] is not channel:
            return
        del self._channels[channel.camera_id]
        found[2].remove(found[1])
        _log.info("live.stopped", camera=channel.camera_id)


def _detail(camera: CameraRef, source: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"camera": camera.name}
    if source is not None:
        detail["source"] = source
    return detail
