"""Camera events from ONVIF notifications: motion and tamper, as typed facts.

A PullMessages answer holds `wsnt:NotificationMessage`s: a topic (`tns1:VideoSource/MotionAlarm`)
and a `tt:Message` with `UtcTime`, `PropertyOperation` (Initialized, Changed, Deleted) and simple
items in `Source` and `Data` (ONVIF Core §9.2 "Notification structure"). Topics map to events:

| topic (prefix ignored)                          | event                  | state item |
|-------------------------------------------------|------------------------|------------|
| VideoSource/MotionAlarm                         | CameraMotionDetected   | State      |
| RuleEngine/CellMotionDetector/Motion            | CameraMotionDetected   | IsMotion   |
| VideoSource/GlobalSceneChange/ImagingService    | CameraTamperDetected   | State      |
| RuleEngine/TamperDetector/Tamper                | CameraTamperDetected   | IsTamper   |

Anything else is ignored. Cameras pick their own namespace prefixes (`tns1:`, `tns:`...), so
each topic segment is compared without its prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from safecity.core.errors import RemoteProtocolError


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification, read out of the library's objects (`pullpoint.notification_from`)."""

    topic: str
    at: datetime | None
    operation: str | None
    source: tuple[tuple[str, str], ...] = ()
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CameraMotionDetected:
    """The camera's motion detector went on (`active`) or off at `at`."""

    camera: str  # the camera's address, host:port
    at: datetime
    active: bool
    topic: str
    source: str | None = None  # the video source or rule that saw it
    initial: bool = False  # the state sent when the subscription started, not a change


@dataclass(frozen=True, slots=True)
class CameraTamperDetected:
    """The camera's tamper (scene change) detector went on (`active`) or off at `at`."""

    camera: str
    at: datetime
    active: bool
    topic: str
    source: str | None = None
    initial: bool = False


CameraEvent = CameraMotionDetected | CameraTamperDetected

MOTION_TOPICS: Final = {
    "VideoSource/MotionAlarm": "State",
    "RuleEngine/CellMotionDetector/Motion": "IsMotion",
}
TAMPER_TOPICS: Final = {
    "VideoSource/GlobalSceneChange/ImagingService": "State",
    "RuleEngine/TamperDetector/Tamper": "IsTamper",
}
SOURCE_ITEMS: Final = ("Source", "VideoSourceConfigurationToken", "VideoSourceToken", "Rule")
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})


def topic_path(topic: str) -> str:
    """`tns1:RuleEngine/CellMotionDetector/Motion` -> `RuleEngine/CellMotionDetector/Motion`."""
    return "/".join(segment.rpartition(":")[2] for segment in topic.strip().strip("/").split("/"))


def parse_state(value: str) -> bool:
    """xs:boolean: true/false/1/0 (surrounding spaces allowed)."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RemoteProtocolError(f"state {value!r} is not a boolean")


def camera_event(
    camera: str, notification: Notification, received_at: datetime
) -> CameraEvent | None:
    """The event for a motion or tamper notification, None for other topics or a notification
    without its state item (`Deleted` properties carry none)."""
    path = topic_path(notification.topic)
    kind: type[CameraMotionDetected] | type[CameraTamperDetected]
    if path in MOTION_TOPICS:
        kind, item = CameraMotionDetected, MOTION_TOPICS[path]
    elif path in TAMPER_TOPICS:
        kind, item = CameraTamperDetected, TAMPER_TOPICS[path]
    else:
        return None
    data = dict(notification.data)
    value = data.get(item, data.get("State"))
    if value is None:
        return None
    source = dict(notification.source)
    at = notification.at or received_at
    return kind(
        camera=camera,
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),  # UtcTime is UTC
        active=parse_state(value),
        topic=path,
        source=next((source[name] for name in SOURCE_ITEMS if name in source), None),
        initial=notification.operation == "Initialized",
    )
