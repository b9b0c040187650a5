"""Whether a recorded camera is online, as both ingest engines tell the platform
(`recorder.CameraRecorder` for PyAV sources, `ingest.NativeCamera` for the native pull loop).

A camera is lost from the start until its first video, and again whenever a connection ends;
`offline_after_s` after it was lost without video since, it is reported offline once
(`CameraOffline`, with the time it was lost and why); its first video after that reports it
online (`CameraOnline`). A loss shorter than `offline_after_s` reports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from safecity.core.clock import Clock
from safecity.media.records import CameraOffline, CameraOnline, RecorderReport


class LinkState:
    """One camera's online state; called on its engine's thread."""

    def __init__(
        self,
        camera_id: int,
        clock: Clock,
        offline_after_s: float,
        report: Callable[[RecorderReport], None],
    ) -> None:
        self.camera_id = camera_id
        self._clock = clock
        self._offline_after_s = offline_after_s
        self._report = report
        self.online: bool | None = None  # None: not yet known
        self.lost_at: float | None = None  # monotonic time the video was lost; None: flowing
        self._lost_wall = clock.now()

    def lost(self) -> None:
        """No video from now on (a connection ended, or none yet); kept if already lost."""
        if self.lost_at is None:
            self.lost_at = self._clock.monotonic()
            self._lost_wall = self._clock.now()

    def video(self, at: datetime) -> bool:
        """Video arrived at `at`: whether it is the first since the camera was lost."""
        if self.lost_at is None:
            return False
        self.lost_at = None
        if self.online is not True:
            self.online = True
            self._report(CameraOnline(self.camera_id, at))
        return True

    def check(self, reason: str) -> None:
        """Report the camera offline if it has been lost for `offline_after_s`."""
        if self.online is False or self.lost_at is None:
            return
        if self._clock.monotonic() - self.lost_at >= self._offline_after_s:
            self.online = False
            self._report(CameraOffline(self.camera_id, self._clock.now(), self._lost_wall, reason))
