"""The simulated camera's event service: PullPoint subscriptions (ONVIF Event Service
Specification §9.1 "Real-time Pull-Point Notification Interface", WS-BaseNotification 1.3).

CreatePullPointSubscription gives a subscription an address `/onvif/subscription/<n>`;
PullMessages waits up to its Timeout for notifications queued for that subscription (at most
MessageLimit of them), Renew moves its termination time, Unsubscribe ends it. A subscription
past its termination time is gone, as on a camera (fault ter:InvalidArgVal). `publish` queues
a notification for every live subscription: the tests' and the demo's handle to make the
camera see motion or tampering.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from safecity.sim.onvif_ptz import duration_s
from safecity.sim.onvif_soap import SoapFault, timestamp

CONCRETE_SET: Final = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
DEFAULT_TERMINATION_S: Final = 60.0
MAX_QUEUED: Final = 1000
MAX_SUBSCRIPTIONS: Final = 32


class SimTopic(StrEnum):
    """The topics this camera raises (ONVIF Core §9.6 / Profile S event topics)."""

    MOTION_ALARM = "tns1:VideoSource/MotionAlarm"
    CELL_MOTION = "tns1:RuleEngine/CellMotionDetector/Motion"
    GLOBAL_SCENE_CHANGE = "tns1:VideoSource/GlobalSceneChange/ImagingService"
    TAMPER = "tns1:RuleEngine/TamperDetector/Tamper"


# topic -> (source items, the name of the boolean data item)
_LAYOUT: Final = {
    SimTopic.MOTION_ALARM: ((("Source", "VideoSource_1"),), "State"),
    SimTopic.CELL_MOTION: (
        (
            ("VideoSourceConfigurationToken", "VideoSource_1"),
            ("VideoAnalyticsConfigurationToken", "Analytics_1"),
            ("Rule", "MyMotionDetectorRule"),
        ),
        "IsMotion",
    ),
    SimTopic.GLOBAL_SCENE_CHANGE: ((("Source", "VideoSource_1"),), "State"),
    SimTopic.TAMPER: (
        (
            ("VideoSourceConfigurationToken", "VideoSource_1"),
            ("VideoAnalyticsConfigurationToken", "Analytics_1"),
            ("Rule", "MyTamperDetectorRule"),
        ),
        "IsTamper",
    ),
}


@dataclass(frozen=True, slots=True)
class SimNotification:
    topic: SimTopic
    state: bool
    at: datetime
    operation: str = "Changed"  # Initialized for the state sent when a subscription starts

    def xml(self) -> str:
        sources, data_name = _LAYOUT[self.topic]
        source = "".join(
            f"<tt:SimpleItem Name={quoteattr(name)} Value={quoteattr(value)}/>"
            for name, value in sources
        )
        value = "true" if self.state else "false"
        return (
            "<wsnt:NotificationMessage>"
            f"<wsnt:Topic Dialect={quoteattr(CONCRETE_SET)}>{escape(self.topic.value)}</wsnt:Topic>"
            "<wsnt:Message>"
            f'<tt:Message UtcTime="{timestamp(self.at)}" PropertyOperation="{self.operation}">'
            f"<tt:Source>{source}</tt:Source>"
            f'<tt:Data><tt:SimpleItem Name="{data_name}" Value="{value}"/></tt:Data>'
            "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
        )


@dataclass(eq=False)
class Subscription:
    number: int
    terminates: datetime
    queue: deque[SimNotification] = field(default_factory=lambda: deque(maxlen=MAX_QUEUED))
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class EventService:
    """Subscriptions of one camera; times are wall-clock UTC from the camera's clock."""

    def __init__(self) -> None:
        self.subscriptions: dict[int, Subscription] = {}
        self._numbers = itertools.count(1)
        self.published = 0

    def create(self, now: datetime, termination: str | None) -> Subscription:
        self._expire(now)
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise SoapFault(
                "too many subscriptions", subcode="ter:TooManySubscriptions", code="s:Receiver"
            )
        subscription = Subscription(next(self._numbers), self._termination(now, termination))
        self.subscriptions[subscription.number] = subscription
        return subscription

    def get(self, number: int, now: datetime) -> Subscription:
        self._expire(now)
        subscription = self.subscriptions.get(number)
        if subscription is None:
            raise SoapFault(f"no subscription {number}", subcode="ter:InvalidArgVal")
        return subscription

    def renew(self, number: int, now: datetime, termination: str | None) -> Subscription:
        subscription = self.get(number, now)
        subscription.terminates = self._termination(now, termination)
        return subscription

    def unsubscribe(self, number: int, now: datetime) -> None:
        self.get(number, now)
        self.subscriptions.pop(number).ready.set()

    def publish(self, notification: SimNotification) -> None:
        self.published += 1
        for subscription in self.subscriptions.values():
            subscription.queue.append(notification)
            subscription.ready.set()

    async def pull(
        self, number: int, now: datetime, *, timeout_s: float, limit: int
    ) -> list[SimNotification]:
        """Up to `limit` queued notifications, waiting up to `timeout_s` for the first."""
        subscription = self.get(number, now)
        if not subscription.queue:
            subscription.ready.clear()
            try:
                async with asyncio.timeout(timeout_s):
                    await subscription.ready.wait()
            except TimeoutError:
                return []
        taken: list[SimNotification] = []
        while subscription.queue and len(taken) < limit:
            taken.append(subscription.queue.popleft())
        return taken

    def close(self) -> None:
        """The camera goes away: wake every waiting pull so it can answer and end."""
        for subscription in self.subscriptions.values():
            subscription.ready.set()
        self.subscriptions.clear()

    def _expire(self, now: datetime) -> None:
        for number in [n for n, s in self.subscriptions.items() if s.terminates <= now]:
            del self.subscriptions[number]

    @staticmethod
    def _termination(now: datetime, termination: str | None) -> datetime:
        """An xs:duration relative to now (`PT60S`) or an absolute xs:dateTime."""
        if not termination:
            return now + timedelta(seconds=DEFAULT_TERMINATION_S)
        if termination.startswith("P"):
            seconds = duration_s(termination)
            if seconds is None:
                raise SoapFault(f"bad duration {termination!r}", subcode="ter:InvalidArgVal")
            return now + timedelta(seconds=seconds)
        try:
            absolute = datetime.fromisoformat(termination.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SoapFault(f"bad time {termination!r}", subcode="ter:InvalidArgVal") from exc
        if absolute.tzinfo is None or absolute <= now:
            raise SoapFault("termination time in the past", subcode="ter:InvalidArgVal")
        return absolute


def subscription_times_xml(
    subscription: Subscription, now: datetime, *, renew: bool = False
) -> str:
    """CurrentTime and TerminationTime, in the order the response's schema wants."""
    current = f"<wsnt:CurrentTime>{timestamp(now)}</wsnt:CurrentTime>"
    termination = (
        f"<wsnt:TerminationTime>{timestamp(subscription.terminates)}</wsnt:TerminationTime>"
    )
    return termination + current if renew else current + termination
