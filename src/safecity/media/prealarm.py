"""Pre-alarm clips from memory: what a camera's ring buffer holds since a time, served at once as
one fragmented MP4 (`ring_clip`), so an operator opening a fresh alarm sees the seconds before
it without waiting for the current segment to close and be indexed.

Two ways in. `camera_clip(scope, camera, since=... | seconds=...)`: from the keyframe at or
before `since` (or `seconds` ago; neither: the whole ring) to now. `alarm_clip(scope, alarm,
camera)`: from the alarm's raised time minus `pre_s` (the pre-alarm seconds that evidence locks
keep, `media.alarm_pre_s`), on the named camera or the alarm's first linked one; refused when
the ring no longer reaches back to the alarm itself (the operator needs recorded playback then,
not the last seconds of an unrelated present). A ring that begins after `since` gives what it
has: the clip says where it really starts, and the console plays the rest from the recording.

The packets come from the recording service, wherever its engines run (`RingSource`,
`RecordingService.packets_since`: in this process the ring is read directly; with ingest
workers the camera's worker is asked over its pipe). Access is live view's and playback's: the
camera through the injected lookup (outside the caller's subtree and grants: `NotFound`); the
clip is recorded past, so a partner needs the `playback` right on its point
(`PermissionDenied`); the alarm through its own injected lookup. Every clip served is audited
(`playback.clip`, with the asked and the actual range).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from safecity.core.clock import Clock
from safecity.core.errors import NotFound, PermissionDenied, ValidationFailed
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Scope
from safecity.media.cameras import CameraLookup, CameraRef
from safecity.media.live import AuditTrail
from safecity.media.ring_clip import RingClip, build_clip
from safecity.media.tap import Gop

CLIP_ACTION: Final = "playback.clip"


class RingSource(Protocol):
    async def packets_since(self, camera_id: int, at: datetime) -> Gop | None:
        """The camera's stream and its ring's packets from the keyframe at or before `at` (the
        oldest kept, if `at` is older) to now; None while it has nothing in memory."""
        ...


@dataclass(frozen=True, slots=True)
class AlarmRef:
    """What a pre-alarm clip needs of an alarm the caller may see."""

    id: int
    raised_at: datetime
    cameras: tuple[int, ...]  # linked cameras, best first


AlarmLookup = Callable[[Scope, int], Awaitable[AlarmRef]]  # `NotFound` outside the caller's view


@dataclass(frozen=True, slots=True)
class ClipOptions:
    pre_s: float = 30.0  # an alarm's clip starts this long before it was raised
    ring_s: float = 30.0  # what the rings keep (the default range of a camera's clip)
    max_jump_s: float = 2.0


@dataclass(frozen=True, slots=True)
class ServedClip:
    camera: CameraRef
    since: datetime  # where the caller wanted it to start (the clip may start later)
    clip: RingClip


class PreAlarmClips:
    def __init__(
        self,
        cameras: CameraLookup,
        alarms: AlarmLookup,
        audit: AuditTrail,
        rings: RingSource | None,
        clock: Clock,
        options: ClipOptions | None = None,
    ) -> None:
        """`rings`: None on a node that records no cameras (every clip is then not found)."""
        self._cameras = cameras
        self._alarms = alarms
        self._audit = audit
        self._rings = rings
        self._clock = clock
        self.options = options or ClipOptions()

    async def camera_clip(
        self,
        scope: Scope,
        camera_id: int,
        *,
        since: datetime | None = None,
        seconds: float | None = None,
        source: str | None = None,
    ) -> ServedClip:
        """The camera's ring from `since` (or `seconds` ago; neither: all of it) to now."""
        start = self._since(since, seconds)
        camera = await self._allowed(scope, camera_id)
        clip = await self._clip(camera, start)
        await self._record(scope, camera, start, clip, {"source": source})
        return ServedClip(camera, start, clip)

    async def alarm_clip(
        self, scope: Scope, alarm_id: int, camera_id: int | None = None, source: str | None = None
    ) -> ServedClip:
        """The alarm's pre-alarm clip on `camera_id` (default: its first linked camera), from
        `pre_s` before it was raised to now."""
        alarm = await self._alarms(scope, alarm_id)
        if camera_id is None:
            if not alarm.cameras:
                raise NotFound(f"alarm {alarm.id} has no linked camera: name one with camera=")
            camera_id = alarm.cameras[0]
        camera = await self._allowed(scope, camera_id)
        start = alarm.raised_at - timedelta(seconds=self.options.pre_s)
        clip = await self._clip(camera, start)
        if clip.start > alarm.raised_at:
            raise NotFound(
                f"camera {camera.id} no longer holds alarm {alarm.id} in memory (it starts at "
                f"{clip.start.isoformat()}): use recorded playback"
            )
        await self._record(scope, camera, start, clip, {"alarm": alarm.id, "source": source})
        return ServedClip(camera, start, clip)

    # -- internals ---------------------------------------------------------------------------

    def _since(self, since: datetime | None, seconds: float | None) -> datetime:
        now = self._clock.now()
        if since is not None and seconds is not None:
            raise ValidationFailed("give since or seconds, not both", field="seconds")
        if seconds is not None:
            return now - timedelta(seconds=seconds)
        if since is None:
            return now - timedelta(seconds=self.options.ring_s)
        try:
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationFailed("since is out of range", field="since") from exc
        if since > now:
            raise ValidationFailed("since must not be in the future", field="since")
        return since

    async def _allowed(self, scope: Scope, camera_id: int) -> CameraRef:
        require(scope, Resource.PLAYBACK, Action.READ)
        camera = await self._cameras(scope, camera_id)
        if not scope.has_right(camera.point_id, camera.org_path, Right.PLAYBACK):
            raise PermissionDenied("a pre-alarm clip needs the playback right on this camera")
        return camera

    async def _clip(self, camera: CameraRef, since: datetime) -> RingClip:
        gop = None if self._rings is None else await self._rings.packets_since(camera.id, since)
        clip = None
        if gop is not None:
            max_jump_s = self.options.max_jump_s
            clip = await asyncio.to_thread(
                build_clip, gop.stream, gop.packets, max_jump_s=max_jump_s
            )
        if clip is None:
            raise NotFound(
                f"camera {camera.id} has no video in memory: it is offline or not recorded here"
            )
        return clip

    async def _record(
        self,
        scope: Scope,
        camera: CameraRef,
        since: datetime,
        clip: RingClip,
        extra: dict[str, Any],
    ) -> None:
        detail: dict[str, Any] = {
            "camera": camera.name,
            "since": since.isoformat(),
            "start": clip.start.isoformat(),
            "end": clip.end.isoformat(),
            "frames": clip.frames,
        }
        detail.update((key, value) for key, value in extra.items() if value is not None)
        await self._audit.record(scope, CLIP_ACTION, f"device:{camera.id}", camera.org_path, detail)
