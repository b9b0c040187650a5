"""Fill an empty store with the demo city through the real services (so it is audited too)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pydantic import SecretStr

from safecity.access.models import GrantDraft, UserDraft
from safecity.api.deps import Services
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
                stream_url=f"rtsp://127.0.0.1:8554/cam{index}",
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
