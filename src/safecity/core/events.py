"""Facts published on the bus. Past tense, serialisable, each with the org path it belongs to.

`org_path` ("/1/4/9/") lets a subscriber (the operator WebSocket, a cascade link) keep only the
events inside a scope without asking the store. Subjects follow NATS conventions so the same names
work on JetStream: tokens separated by dots, `*` matches one token, `>` the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_prefix: ClassVar[str] = "events"
    at: datetime = Field(description="When the fact happened (UTC)")
    org_path: str = Field(description="Materialised path of the org unit the fact belongs to")
    actor: str | None = Field(default=None, description="Who caused it, if a person or system did")

    @property
    def subject(self) -> str:
        return self.subject_prefix


class OrgUnitChanged(Event):
    kind: Literal["org_unit_changed"] = "org_unit_changed"
    subject_prefix: ClassVar[str] = "org.unit"
    org_unit_id: int
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class PointChanged(Event):
    kind: Literal["point_changed"] = "point_changed"
    subject_prefix: ClassVar[str] = "org.point"
    point_id: int
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class DeviceChanged(Event):
    kind: Literal["device_changed"] = "device_changed"
    subject_prefix: ClassVar[str] = "org.device"
    device_id: int
    point_id: int
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class PointsImported(Event):
    kind: Literal["points_imported"] = "points_imported"
    subject_prefix: ClassVar[str] = "org.import.points"
    count: int


class UserSignedIn(Event):
    kind: Literal["user_signed_in"] = "user_signed_in"
    subject_prefix: ClassVar[str] = "access.signin"
    username: str
    source: str | None = None


class UserChanged(Event):
    kind: Literal["user_changed"] = "user_changed"
    subject_prefix: ClassVar[str] = "access.user"
    user_id: int
    username: str
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class GrantChanged(Event):
    kind: Literal["grant_changed"] = "grant_changed"
    subject_prefix: ClassVar[str] = "access.grant"
    grant_id: int
    department: str
    point_id: int
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class AlarmAccountChanged(Event):
    kind: Literal["alarm_account_changed"] = "alarm_account_changed"
    subject_prefix: ClassVar[str] = "alarms.account"
    account_id: int
    account: str
    change: Literal["created", "updated", "deleted"]

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class AlarmRaised(Event):
    """A new alarm in the operator queue, with what the console needs to pop it up: the cameras
    to show live and whose pre-alarm seconds to attach (`cameras`, device ids, best first)."""

    kind: Literal["alarm_raised"] = "alarm_raised"
    subject_prefix: ClassVar[str] = "alarms.raised"
    alarm_id: int
    account: str
    point_id: int | None
    source: str
    code: str
    category: str
    priority: int
    title_en: str
    title_zh: str
    partition: int | None = None
    zone: int | None = None
    zone_name: str | None = None
    confirmed: bool = False
    cameras: list[int] = Field(default_factory=list)
    lat: float | None = None
    lon: float | None = None


AlarmChange = Literal[
    "acknowledged", "dispatched", "on_scene", "resolved", "escalated", "confirmed", "restored"
]


class AlarmChanged(Event):
    kind: Literal["alarm_changed"] = "alarm_changed"
    subject_prefix: ClassVar[str] = "alarms.changed"
    alarm_id: int
    point_id: int | None
    change: AlarmChange
    state: str
    priority: int
    confirmed: bool = False

    @property
    def subject(self) -> str:
        return f"{self.subject_prefix}.{self.change}"


class CameraWentOffline(Event):
    """No video from a camera for the configured offline time; lost since `since`."""

    kind: Literal["camera_went_offline"] = "camera_went_offline"
    subject_prefix: ClassVar[str] = "media.camera.offline"
    camera_id: int
    since: datetime
    reason: str = ""


class CameraCameOnline(Event):
    kind: Literal["camera_came_online"] = "camera_came_online"
    subject_prefix: ClassVar[str] = "media.camera.online"
    camera_id: int


class CameraMotionDetected(Event):
    """A camera's own motion detector went on (`active`) or off (ONVIF events: the camera says
    so, the platform does not analyse video for it)."""

    kind: Literal["camera_motion_detected"] = "camera_motion_detected"
    subject_prefix: ClassVar[str] = "media.camera.motion"
    camera_id: int
    point_id: int
    active: bool
    source: str | None = Field(default=None, description="The video source or rule that saw it")
    initial: bool = Field(default=False, description="The state at subscription time, not a change")


class CameraTamperDetected(Event):
    """A camera's tamper (scene change, covered or moved lens) detector went on or off."""

    kind: Literal["camera_tamper_detected"] = "camera_tamper_detected"
    subject_prefix: ClassVar[str] = "media.camera.tamper"
    camera_id: int
    point_id: int
    active: bool
    source: str | None = Field(default=None, description="The video source or rule that saw it")
    initial: bool = Field(default=False, description="The state at subscription time, not a change")


class RecordingGapFound(Event):
    """A stretch of a camera's recording is missing, and why (`source_lost`, `corrupt_stream`,
    `timestamp_jump`, `restart`, `disk_full`)."""

    kind: Literal["recording_gap_found"] = "recording_gap_found"
    subject_prefix: ClassVar[str] = "media.gap"
    camera_id: int
    start: datetime
    end: datetime
    cause: str


class SegmentRecorded(Event):
    """A segment file was closed and indexed."""

    kind: Literal["segment_recorded"] = "segment_recorded"
    subject_prefix: ClassVar[str] = "media.segment"
    camera_id: int
    segment_id: int
    start: datetime
    end: datetime
    bytes: int
    path: str


AnyEvent = Annotated[
    OrgUnitChanged
    | PointChanged
    | DeviceChanged
    | PointsImported
    | UserSignedIn
    | UserChanged
    | GrantChanged
    | AlarmAccountChanged
    | AlarmRaised
    | AlarmChanged
    | CameraWentOffline
    | CameraCameOnline
    | CameraMotionDetected
    | CameraTamperDetected
    | RecordingGapFound
    | SegmentRecorded,
    Field(discriminator="kind"),
]
ANY_EVENT: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def decode_event(data: bytes) -> Event:
    """Rebuild an event from its JSON form (what a networked bus carries)."""
    event: Event = ANY_EVENT.validate_json(data)
    return event
