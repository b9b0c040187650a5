"""What the subscriber-account service takes and gives: validated drafts in, read models out.

An account is one alarm panel's account number at the centre, with its zones, who to call, when
the premises are expected open, and what the operator does per kind of event. The AES key a panel
encrypts with is taken as `key_hex` (32/48/64 hex digits: AES-128/192/256) or `key_text`
(16/24/32 characters, used as bytes), sealed at rest and never returned: views say only whether
there is one (`has_key`) and how it was written (`key_notation`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

ACCOUNT_PATTERN: Final = r"^[0-9A-Fa-f]{3,16}$"
KEY_HEX_LENGTHS: Final = (32, 48, 64)
KEY_TEXT_LENGTHS: Final = (16, 24, 32)
SUPERVISION_MIN_S: Final = 60
SUPERVISION_MAX_S: Final = 7 * 24 * 3600
_HEX: Final = re.compile(r"^[0-9A-Fa-f]*$")
_CLOCK: Final = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class DetectorType(StrEnum):
    PIR = "pir"
    DOOR_CONTACT = "door_contact"
    GLASS_BREAK = "glass_break"
    VIBRATION = "vibration"
    BEAM = "beam"
    SMOKE = "smoke"
    HEAT = "heat"
    PANIC_BUTTON = "panic_button"
    TAMPER = "tamper"
    OTHER = "other"


class ContactRole(StrEnum):
    KEYHOLDER = "keyholder"
    MANAGER = "manager"
    GUARD = "guard"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEKDAYS: Final = tuple(Weekday)  # index = date.weekday()


class KeyNotation(StrEnum):
    HEX = "hex"
    TEXT = "text"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Clock = Annotated[str, StringConstraints(pattern=_CLOCK)]


class Schedule(_Strict):
    """When the premises are expected open. A window whose end is not after its start crosses
    midnight (["22:00", "06:00"] = 22:00 to 06:00 the next day); "24:00" ends at midnight. A
    window belongs to the day it starts on, and holidays drop every window starting on them."""

    timezone: str = Field(
        default="Asia/Shanghai", min_length=1, max_length=64, description="IANA time zone name"
    )
    weekly: dict[Weekday, list[tuple[Clock, Clock]]] = Field(
        default_factory=dict,
        description='Open windows per weekday, e.g. {"mon": [["08:30", "18:00"]]}',
    )
    holidays: list[date] = Field(
        default_factory=list, max_length=366, description="Dates closed all day"
    )
    open_grace_min: int = Field(
        default=15, ge=0, le=240, description="Minutes after a window opens before 'late to open'"
    )
    close_grace_min: int = Field(
        default=15, ge=0, le=240, description="Minutes after a window ends before 'late to close'"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekly")
    @classmethod
    def _windows(
        cls, value: dict[Weekday, list[tuple[str, str]]]
    ) -> dict[Weekday, list[tuple[str, str]]]:
        for day, windows in value.items():
            if len(windows) > 8:
                raise ValueError(f"{day}: at most 8 windows a day")
            for start, end in windows:
                if start == "24:00":
                    raise ValueError(f"{day}: a window cannot start at 24:00")
                if start == end:
                    raise ValueError(f"{day}: window {start}-{end} is empty")
        return value


class ActionPlan(_Strict):
    """What the operator does, step by step, per category of event (`default` for the rest)."""

    fire: list[str] = Field(default_factory=list, max_length=20, description="Fire alarm steps")
    burglary: list[str] = Field(default_factory=list, max_length=20, description="Burglary steps")
    panic: list[str] = Field(default_factory=list, max_length=20, description="Panic steps")
    duress: list[str] = Field(default_factory=list, max_length=20, description="Duress steps")
    holdup: list[str] = Field(default_factory=list, max_length=20, description="Hold-up steps")
    tamper: list[str] = Field(default_factory=list, max_length=20, description="Tamper steps")
    trouble: list[str] = Field(default_factory=list, max_length=20, description="Trouble steps")
    default: list[str] = Field(default_factory=list, max_length=20, description="Other events")

    @field_validator("*")
    @classmethod
    def _steps(cls, value: list[str]) -> list[str]:
        steps = [step.strip() for step in value]
        if any(not step or len(step) > 500 for step in steps):
            raise ValueError("each step is 1 to 500 characters")
        return steps

    def steps_for(self, category: str) -> list[str]:
        """The steps for an event category, or the default ones."""
        if category in type(self).model_fields and category != "default":
            steps: list[str] = getattr(self, category)
            if steps:
                return steps
        return self.default


class Contact(_Strict):
    name: str = Field(min_length=1, max_length=100, description="Who to call")
    phone: str = Field(
        min_length=3, max_length=32, pattern=r"^\+?[0-9 ()-]+$", description="Phone number"
    )
    role: ContactRole = Field(description="keyholder, manager or guard")
    order: int = Field(default=1, ge=1, le=99, description="Call order, 1 first")


class ZoneDraft(_Strict):
    number: int = Field(ge=1, le=999, description="Zone number as the panel reports it")
    name: str = Field(min_length=1, max_length=200, description="Where the detector is")
    detector: DetectorType = Field(description="Kind of detector")
    camera_ids: list[int] = Field(
        default_factory=list,
        max_length=16,
        description="Cameras (device ids) covering the zone, best first",
    )

    @field_validator("camera_ids")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("a camera is listed twice")
        if any(camera < 1 for camera in value):
            raise ValueError("camera ids are positive")
        return value


class Zone(ZoneDraft):
    id: int = Field(description="Row id")


def _unique_zone_numbers(zones: list[ZoneDraft]) -> list[ZoneDraft]:
    seen: set[int] = set()
    for zone in zones:
        if zone.number in seen:
            raise ValueError(f"zone {zone.number} is listed twice")
        seen.add(zone.number)
    return zones


def check_key_hex(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    text = value.get_secret_value().strip()
    if len(text) not in KEY_HEX_LENGTHS or not _HEX.match(text):
        raise ValueError("an AES key in hex is 32, 48 or 64 hex digits")
    return SecretStr(text.upper())


def check_key_text(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    text = value.get_secret_value()
    if len(text.encode()) not in KEY_TEXT_LENGTHS:
        raise ValueError("an AES key as text is 16, 24 or 32 bytes")
    return value


class _KeyFields(_Strict):
    key_hex: SecretStr | None = Field(
        default=None, description="AES key as 32/48/64 hex digits (AES-128/192/256)"
    )
    key_text: SecretStr | None = Field(
        default=None, description="AES key as 16/24/32 characters, used as bytes"
    )

    _hex = field_validator("key_hex")(check_key_hex)
    _text = field_validator("key_text")(check_key_text)

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if self.key_hex is not None and self.key_text is not None:
            raise ValueError("give key_hex or key_text, not both")
        return self

    def key(self) -> tuple[str, KeyNotation] | None:
        """The key as written and its notation, or None."""
        if self.key_hex is not None:
            return self.key_hex.get_secret_value(), KeyNotation.HEX
        if self.key_text is not None:
            return self.key_text.get_secret_value(), KeyNotation.TEXT
        return None


class AccountDraft(_KeyFields):
    account: str = Field(pattern=ACCOUNT_PATTERN, description="Account number, 3-16 hex digits")
    name: str = Field(min_length=1, max_length=200, description="Subscriber name")
    org_unit_id: int = Field(ge=1, le=2**62, description="Org unit responsible for it")
    point_id: int | None = Field(
        default=None, ge=1, le=2**62, description="The point (site) it protects, if registered"
    )
    require_encryption: bool = Field(
        default=False, description="Refuse unencrypted messages from this account"
    )
    supervision_s: int | None = Field(
        default=None,
        ge=SUPERVISION_MIN_S,
        le=SUPERVISION_MAX_S,
        description="Expected test/poll interval in seconds; None = not supervised",
    )
    grace_s: int = Field(
        default=0, ge=0, le=86_400, description="Extra seconds before a missed poll alarms"
    )
    schedule: Schedule | None = Field(default=None, description="Opening hours, if any")
    contacts: list[Contact] = Field(default_factory=list, max_length=20, description="Call list")
    action_plans: ActionPlan = Field(
        default_factory=ActionPlan, description="Operator steps per event category"
    )
    zones: list[ZoneDraft] = Field(default_factory=list, max_length=999, description="Zones")
    enabled: bool = Field(default=True, description="Accept and process its messages")

    @field_validator("account")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    _zones = field_validator("zones")(_unique_zone_numbers)

    @model_validator(mode="after")
    def _encryption_needs_key(self) -> Self:
        if self.require_encryption and self.key() is None:
            raise ValueError("require_encryption needs key_hex or key_text")
        return self


class AccountPatch(_KeyFields):
    name: str | None = Field(default=None, min_length=1, max_length=200, description="New name")
    org_unit_id: int | None = Field(default=None, ge=1, le=2**62, description="Move to this unit")
    point_id: int | None = Field(default=None, ge=1, le=2**62, description="Protected point")
    clear_point: bool = Field(default=False, description="Detach it from its point")
    clear_key: bool = Field(default=False, description="Remove the AES key")
    require_encryption: bool | None = Field(default=None, description="Refuse plain messages")
    supervision_s: int | None = Field(
        default=None, ge=SUPERVISION_MIN_S, le=SUPERVISION_MAX_S, description="Poll interval"
    )
    clear_supervision: bool = Field(default=False, description="Stop supervising it")
    grace_s: int | None = Field(default=None, ge=0, le=86_400, description="Poll grace seconds")
    schedule: Schedule | None = Field(default=None, description="New opening hours")
    clear_schedule: bool = Field(default=False, description="Remove the opening hours")
    contacts: list[Contact] | None = Field(default=None, max_length=20, description="Call list")
    action_plans: ActionPlan | None = Field(default=None, description="Operator steps")
    enabled: bool | None = Field(default=None, description="Accept and process its messages")

    @model_validator(mode="after")
    def _no_contradiction(self) -> Self:
        pairs = (
            ("clear_key", self.key() is not None),
            ("clear_point", self.point_id is not None),
            ("clear_supervision", self.supervision_s is not None),
            ("clear_schedule", self.schedule is not None),
        )
        for flag, given in pairs:
            if getattr(self, flag) and given:
                raise ValueError(f"{flag} contradicts a new value for the same field")
        return self


class Account(BaseModel):
    """An account as callers see it: never the key, only whether there is one."""

    id: int = Field(description="Row id")
    account: str = Field(description="Account number (upper-case hex)")
    name: str = Field(description="Subscriber name")
    org_unit_id: int = Field(description="Responsible org unit")
    org_path: str = Field(description="Materialised path of the org unit")
    point_id: int | None = Field(description="Protected point")
    has_key: bool = Field(description="An AES key is set")
    key_notation: KeyNotation | None = Field(description="How the key was written")
    require_encryption: bool = Field(description="Plain messages are refused")
    supervision_s: int | None = Field(description="Poll interval; None = not supervised")
    grace_s: int = Field(description="Poll grace seconds")
    schedule: Schedule | None = Field(description="Opening hours")
    contacts: list[Contact] = Field(description="Call list, in order")
    action_plans: ActionPlan = Field(description="Operator steps per event category")
    zones: list[Zone] = Field(description="Zones by number")
    enabled: bool = Field(description="Accepted and processed")
    last_seen_at: datetime | None = Field(description="Last message from the panel")
    created_at: datetime = Field(description="When it was created")
    updated_at: datetime = Field(description="Last change")
