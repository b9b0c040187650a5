"""Keep what an alarm's operator must review: the seconds before and after it on its cameras.

Every `AlarmRaised` names the cameras linkage chose (the zone's, else the nearest). For each,
an evidence lock over `[raised - pre_s, raised + post_s)` keeps retention (age, quota, low
disk) away from that stretch of recording for `keep_days`, so the pre-alarm clip is still
there when the alarm is reviewed or exported, however full the disk got meanwhile. Locks are
made by `system` with the alarm in the reason; an operator can lock longer ranges by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog

from safecity.bus.port import EventBus
from safecity.core.errors import StoreUnavailable
from safecity.core.events import AlarmRaised
from safecity.media.index import RecordingIndex

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClipWindow:
    pre_s: float = 30.0
    post_s: float = 60.0
    keep_days: float = 90.0


class AlarmClips:
    def __init__(self, index: RecordingIndex, bus: EventBus, window: ClipWindow) -> None:
        self._index = index
        self._bus = bus
        self._window = window

    async def run(self) -> None:
        """Lock the clips of every alarm raised from now on, until cancelled."""
        subscription = self._bus.subscribe("alarms.raised", buffer=10_000)
        try:
            async for delivery in subscription:
                if isinstance(delivery.event, AlarmRaised):
                    await self.keep(delivery.event)
                await subscription.ack(delivery)
        finally:
            await subscription.close()

    async def keep(self, alarm: AlarmRaised) -> int:
        """Lock each of the alarm's cameras around its time; how many locks were made."""
        window = self._window
        start = alarm.at - timedelta(seconds=window.pre_s)
        end = alarm.at + timedelta(seconds=window.post_s)
        made = 0
        for camera_id in alarm.cameras:
            try:
                await self._index.lock(
                    camera_id,
                    start,
                    end,
                    reason=f"alarm {alarm.alarm_id} {alarm.code} ({alarm.account})",
                    by="system",
                    at=alarm.at,
                    expires_at=alarm.at + timedelta(days=window.keep_days),
                )
            except StoreUnavailable as exc:
                _log.warning("alarm_clip.not_locked", alarm=alarm.alarm_id, error=str(exc))
                continue
            made += 1
        return made
