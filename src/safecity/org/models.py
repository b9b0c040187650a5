"""What the registry services take and give: validated drafts in, read models out."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from safecity.core.ids import GbCode, check_centre_code


class OrgUnitKind(StrEnum):
    BUREAU = "bureau"  # city public security bureau
    BRANCH = "branch"  # district branch
    STATION = "station"  # police station
    OTHER = "other"


class PointTag(StrEnum):
    CHECKPOINT = "checkpoint"
    SCENIC_AREA = "scenic_area"
    COMMERCIAL_STREET = "commercial_street"
    KEY_UNIT = "key_unit"
    BANK = "bank"
    SCHOOL = "school"
    TRANSPORT_HUB = "transport_hub"
    HOSPITAL = "hospital"
    RESIDENTIAL = "residential"
    TRAFFIC = "traffic"


class Ownership(StrEnum):
    IN_HOUSE = "in_house"
    THIRD_PARTY = "third_party"


class OwnerKind(StrEnum):
    BANK = "bank"
    COMMUNITY = "community"
    BUSINESS = "business"
    SCHOOL = "school"
    GOVERNMENT = "government"
    OTHER = "other"


class DeviceKind(StrEnum):
    CAMERA = "camera"
    ALARM_PANEL = "alarm_panel"
    GB_DEVICE = "gb_device"
    NVR = "nvr"
    GB_PLATFORM = "gb_platform"


ONVIF_URL_HELP: Final = (
    "ONVIF device service, http://HOST[:PORT]/onvif/device_service; the device's username and "
    "password are used for it. A camera with one but no stream_url records its main profile."
)


def check_onvif_url(value: str | None) -> str | None:
    """An http URL with a host and a valid port (the ONVIF client speaks plain HTTP)."""
    if value is None:
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("onvif_url has an invalid port") from exc
    if parts.scheme != "http" or not parts.hostname or port == 0:
        raise ValueError("onvif_url must be http://HOST[:PORT]/onvif/device_service")
    if parts.username or parts.password:
        raise ValueError("onvif_url must not carry credentials: set username and password")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrgUnitDraft(_Strict):
    parent_id: int | None = Field(
        default=None, ge=1, le=2**62, description="Parent unit; none for a root"
    )
    name: str = Field(min_length=1, max_length=200)
    kind: OrgUnitKind
    centre_code: str = Field(
        min_length=8, max_length=8, description="GB/T 28181 centre code (GB/T 2260 + unit)"
    )

    @field_validator("centre_code")
    @classmethod
    def _centre(cls, value: str) -> str:
        return check_centre_code(value)


class OrgUnitPatch(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrgUnitKind | None = None


class OrgUnit(BaseModel):
    id: int
    parent_id: int | None
    path: str
    level: int
    kind: OrgUnitKind
    name: str
    centre_code: str


class PointDraft(_Strict):
    org_unit_id: int = Field(ge=1, le=2**62, description="The unit that manages this point")
    name: str = Field(min_length=1, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=64, description="Own code")
    address: str = Field(default="", max_length=400)
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude")
    tags: list[PointTag] = Field(default_factory=list, max_length=10)
    ownership: Ownership = Ownership.IN_HOUSE
    owner_name: str | None = Field(default=None, max_length=200, description="Third-party owner")
    owner_kind: OwnerKind | None = None
    public_signage: bool = Field(default=False, description="Publicly signed as monitored")

    @model_validator(mode="after")
    def _owner(self) -> Self:
        if self.ownership is Ownership.THIRD_PARTY and not (self.owner_name and self.owner_kind):
            raise ValueError("a third-party point needs owner_name and owner_kind")
        if self.ownership is Ownership.IN_HOUSE and (self.owner_name or self.owner_kind):
            raise ValueError("an in-house point has no owner_name or owner_kind")
        self.tags = sorted(set(self.tags))
        return self


class PointPatch(_Strict):
    org_unit_id: int | None = Field(default=None, ge=1, le=2**62)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=400)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    tags: list[PointTag] | None = Field(default=None, max_length=10)
    public_signage: bool | None = None


class Point(BaseModel):
    id: int
    org_unit_id: int
    org_path: str
    code: str | None
    name: str
    address: str
    lat: float
    lon: float
    tags: list[PointTag]
    ownership: Ownership
    owner_name: str | None
    owner_kind: OwnerKind | None
    public_signage: bool


class DeviceDraft(_Strict):
    point_id: int = Field(ge=1, le=2**62)
    kind: DeviceKind
    name: str = Field(min_length=1, max_length=200)
    gb_id: str | None = Field(
        default=None, description="20-digit GB/T 28181 code; allocated under the unit if omitted"
    )
    vendor: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    host: str | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    stream_url: str | None = Field(default=None, max_length=1000)
    onvif_url: str | None = Field(default=None, max_length=1000, description=ONVIF_URL_HELP)
    username: str | None = Field(default=None, max_length=200)
    password: SecretStr | None = Field(default=None, description="Stored encrypted; never returned")

    _onvif = field_validator("onvif_url")(check_onvif_url)

    @field_validator("gb_id")
    @classmethod
    def _gb(cls, value: str | None) -> str | None:
        return None if value is None else GbCode.parse(value).value


class DevicePatch(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    vendor: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    host: str | None = Field(default=None, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    stream_url: str | None = Field(default=None, max_length=1000)
    onvif_url: str | None = Field(default=None, max_length=1000, description=ONVIF_URL_HELP)
    username: str | None = Field(default=None, max_length=200)
    password: SecretStr | None = None
    enabled: bool | None = None

    _onvif = field_validator("onvif_url")(check_onvif_url)


class Device(BaseModel):
    id: int
    point_id: int
    org_path: str
    gb_id: str
    kind: DeviceKind
    name: str
    vendor: str | None
    model: str | None
    host: str | None
    port: int | None
    stream_url: str | None
    onvif_url: str | None
    username: str | None
    has_password: bool
    enabled: bool
