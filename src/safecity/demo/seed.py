"""Fill an empty store with the demo city through the real services (so it is audited too)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from pydantic import SecretStr

from safecity.access.models import GrantDraft, UserDraft
from safecity.alarms.account_models import AccountDraft
from safecity.api.deps import Services
from safecity.core.paging import PageRequest
from safecity.core.scope import Department, Right, Role, Scope
from safecity.demo.city import POINTS, UNITS
from safecity.org.models import (
    DeviceDraft,
    DeviceKind,
    OrgUnitDraft,
    OrgUnitKind,
    OwnerKind,
    Ownership,
    PointDraft,
    PointTag,
)

SEED_SCOPE = Scope(user_id=0, username="demo-seed", role=Role.ADMIN, org_path="/")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    scope: str


async def seed_demo_city(services: Services) -> list[DemoLogin]:
    """Create the units, points, devices and a few users; return their sign-in details."""
    unit_ids: dict[str, int] = {}
    for unit in UNITS:
        draft = OrgUnitDraft(
            parent_id=unit_ids[unit.parent] if unit.parent else None,
            name=unit.name,
            kind=OrgUnitKind(unit.kind),
            centre_code=unit.centre_code,
        )
        if unit.parent is None:
            created = await services.units.create_root(draft, actor=SEED_SCOPE)
        else:
            created = await services.units.create(SEED_SCOPE, draft)
        unit_ids[unit.centre_code] = created.id

    checkpoints: list[int] = []
    for index, spec in enumerate(POINTS, start=1):
        owner_kind, owner_name = spec.owner if spec.owner else (None, None)
        point = await services.points.create(
            SEED_SCOPE,
            PointDraft(
                org_unit_id=unit_ids[spec.station],
                name=spec.name,
                code=f"SZ-{index:03d}",
                address=spec.address,
                lat=spec.lat,
                lon=spec.lon,
                tags=[PointTag(t) for t in spec.tags],
                ownership=Ownership.THIRD_PARTY if spec.owner else Ownership.IN_HOUSE,
                owner_name=owner_name,
                owner_kind=OwnerKind(owner_kind) if owner_kind else None,
                public_signage=spec.signage,
            ),
        )
        if PointTag.CHECKPOINT in point.tags:
            checkpoints.append(point.id)
        await services.devices.create(
            SEED_SCOPE,
            DeviceDraft(
                point_id=point.id,
                kind=DeviceKind.CAMERA,
                name=f"{spec.name} 1号摄像机",
                vendor="Simulated",
                model="SIM-IPC",
                # no stream yet: `safecity demo` points these at its simulated cameras
                username="admin",
                password=SecretStr(secrets.token_urlsafe(12)),
            ),
        )
        if spec.panel:
            await services.devices.create(
                SEED_SCOPE,
                DeviceDraft(
                    point_id=point.id,
                    kind=DeviceKind.ALARM_PANEL,
                    name=f"{spec.name} 报警主机",
                    vendor="Simulated",
                    model="SIM-DC09",
                ),
            )

    logins = [
        await _user(services, "admin", Role.ADMIN, unit_ids["44030000"], "city bureau"),
        await _user(services, "futian", Role.SUPERVISOR, unit_ids["44030400"], "Futian branch"),
        await _user(services, "lianhua", Role.OPERATOR, unit_ids["44030401"], "Lianhua station"),
        await _user(
            services,
            "traffic",
            Role.PARTNER,
            unit_ids["44030000"],
            "traffic police: checkpoints",
            department=Department.TRAFFIC,
        ),
    ]
    for point_id in checkpoints:
        await services.grants.create(
            SEED_SCOPE,
            GrantDraft(
                department=Department.TRAFFIC,
                point_id=point_id,
                rights=[Right.LIVE, Right.PLAYBACK],
                expires_at=None,
            ),
        )
    return logins


async def _user(
    services: Services,
    username: str,
    role: Role,
    unit_id: int,
    scope: str,
    *,
    department: Department | None = None,
) -> DemoLogin:
    password = secrets.token_urlsafe(9)
    await services.users.create(
        SEED_SCOPE,
        UserDraft(
            username=username,
            display_name=username,
            password=SecretStr(password),
            role=role,
            org_unit_id=unit_id,
            department=department,
        ),
    )
    return DemoLogin(username=username, password=password, role=role, scope=scope)


DEMO_ACCOUNTS = 300
_BUSINESS_HOURS = {day: [["08:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
_KINDS = (  # (name, business?, zones as (name, detector))
    (
        "银行网点",
        True,
        (
            ("营业厅门磁", "door_contact"),
            ("金库震动", "vibration"),
            ("柜台紧急按钮", "panic_button"),
        ),
    ),
    ("商铺", True, (("卷帘门", "door_contact"), ("店内红外", "pir"), ("橱窗玻璃", "glass_break"))),
    ("住宅", False, (("入户门", "door_contact"), ("客厅红外", "pir"), ("厨房烟感", "smoke"))),
)


def demo_account_key(account: str) -> str:
    """The demo's AES-128 key for an account: SHA-256 of its number, first 32 hex digits.

    Demo only: anyone who knows an account number can derive it, so real accounts never do this.
    """
    return hashlib.sha256(account.encode("ascii")).hexdigest()[:32].upper()


async def seed_demo_accounts(
    services: Services, count: int = DEMO_ACCOUNTS
) -> list[tuple[str, str | None]]:
    """Create `count` alarm accounts spread over the demo city's points (after `seed_demo_city`).

    Account numbers run A00001, A00002, ... (hex). Banks, shops and homes take turns; businesses
    get weekday opening hours; each has 2-4 zones (the first watched by the point's camera),
    supervision every 300 s with 60 s grace, and every other one an AES-128 key from
    `demo_account_key`. Returns (account number, key hex or None) for the panel simulator.
    """
    points = (await services.points.list(SEED_SCOPE, PageRequest(limit=10_000))).items
    cameras: dict[int, int] = {}
    for device in (await services.devices.list(SEED_SCOPE, PageRequest(limit=10_000))).items:
        if device.kind is DeviceKind.CAMERA:
            cameras.setdefault(device.point_id, device.id)
    created: list[tuple[str, str | None]] = []
    for index in range(1, count + 1):
        point = points[(index - 1) % len(points)]
        kind, business, zone_specs = _KINDS[index % len(_KINDS)]
        number = f"{0xA00000 + index:06X}"
        key = demo_account_key(number) if index % 2 == 1 else None
        zones = [
            {
                "number": zone_number,
                "name": name,
                "detector": detector,
                "camera_ids": [cameras[point.id]]
                if zone_number == 1 and point.id in cameras
                else [],
            }
            for zone_number, (name, detector) in enumerate(
                zone_specs[: 2 + index % 2] + (("防拆", "tamper"),) * (index % 3 == 0),
                start=1,
            )
        ]
        await services.alarm_accounts.create(
            SEED_SCOPE,
            AccountDraft.model_validate(
                {
                    "account": number,
                    "name": f"{point.name} {kind} {index:03d}",
                    "org_unit_id": point.org_unit_id,
                    "point_id": point.id,
                    "key_hex": key,
                    "supervision_s": 300,
                    "grace_s": 60,
                    "schedule": {"weekly": _BUSINESS_HOURS} if business else None,
                    "contacts": [
                        {"name": "值班人员", "phone": f"1380000{index:04d}", "role": "keyholder"}
                    ],
                    "action_plans": {
                        "burglary": ["复核视频", "通知联系人", "派警"],
                        "fire": ["拨打119", "通知联系人"],
                        "default": ["复核视频", "通知联系人"],
                    },
                    "zones": zones,
                }
            ),
        )
        created.append((number, key))
    return created
