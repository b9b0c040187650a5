"""A small world behind the real API: two stations under one branch, users of every role
scoped to station 1, objects inside and outside that scope, and a point shared with traffic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from safecity.access.models import GrantDraft, UserDraft
from safecity.alarms.account_models import AccountDraft
from safecity.api.app import create_api
from safecity.app import Platform, open_platform
from safecity.core.scope import Department, Right, Role, Scope
from safecity.org.models import DeviceDraft, DeviceKind, OrgUnitDraft, OrgUnitKind, PointDraft
from safecity.settings import load_settings
from safecity.store.secretbox import SecretBox

ROOT = Scope(user_id=0, username="test-seed", role=Role.ADMIN, org_path="/")
PASSWORD = "correct horse battery"


@dataclass
class World:
    platform: Platform
    client: httpx.AsyncClient
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[Role, str] = field(default_factory=dict)

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


async def build_world(platform: Platform, client: httpx.AsyncClient) -> World:
    world = World(platform=platform, client=client)
    s = platform.services
    bureau = await s.units.create_root(
        OrgUnitDraft(name="深圳市公安局", kind=OrgUnitKind.BUREAU, centre_code="44030000"),
        actor=ROOT,
    )
    branch = await s.units.create(
        ROOT,
        OrgUnitDraft(
            parent_id=bureau.id, name="福田分局", kind=OrgUnitKind.BRANCH, centre_code="44030400"
        ),
    )
    for key, code in (("unit_in", "44030401"), ("unit_out", "44030402")):
        unit = await s.units.create(
            ROOT,
            OrgUnitDraft(parent_id=branch.id, name=key, kind=OrgUnitKind.STATION, centre_code=code),
        )
        world.ids[key] = unit.id
    for key, unit_key in (
        ("point_in", "unit_in"),
        ("point_out", "unit_out"),
        ("point_shared", "unit_out"),
    ):
        point = await s.points.create(
            ROOT, PointDraft(org_unit_id=world.ids[unit_key], name=key, lat=22.54, lon=114.05)
        )
        world.ids[key] = point.id
        device = await s.devices.create(
            ROOT,
            DeviceDraft(
                point_id=point.id,
                kind=DeviceKind.CAMERA,
                name=f"cam {key}",
                username="admin",
                password=SecretStr("s3cret-pass"),
            ),
        )
        world.ids[key.replace("point", "device")] = device.id
    for key, number, unit_key in (
        ("account_in", "AC1", "unit_in"),
        ("account_out", "AC2", "unit_out"),
    ):
        account = await s.alarm_accounts.create(
            ROOT, AccountDraft(account=number, name=key, org_unit_id=world.ids[unit_key])
        )
        world.ids[key] = account.id
    for key, unit_key in (("user_in", "unit_in"), ("user_out", "unit_out")):
        user = await s.users.create(
            ROOT,
            UserDraft(
                username=key,
                display_name=key,
                password=SecretStr(PASSWORD),
                role=Role.VIEWER,
                org_unit_id=world.ids[unit_key],
            ),
        )
        world.ids[key] = user.id
    for key, point_key in (("grant_in", "point_in"), ("grant_out", "point_out")):
        grant = await s.grants.create(
            ROOT,
            GrantDraft(
                department=Department.CITY_MANAGEMENT,
                point_id=world.ids[point_key],
                rights=[Right.LIVE],
                expires_at=None,
            ),
        )
        world.ids[key] = grant.id
    await s.grants.create(
        ROOT,
        GrantDraft(
            department=Department.TRAFFIC,
            point_id=world.ids["point_shared"],
            rights=[Right.LIVE],
            expires_at=None,
        ),
    )
    for role in Role:
        await s.users.create(
            ROOT,
            UserDraft(
                username=f"caller-{role}",
                display_name=str(role),
                password=SecretStr(PASSWORD),
                role=role,
                org_unit_id=world.ids["unit_in"],
                department=Department.TRAFFIC if role is Role.PARTNER else None,
            ),
        )
        response = await client.post(
            "/api/auth/login", json={"username": f"caller-{role}", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        world.tokens[role] = response.json()["token"]
    return world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'api.db'}"},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 1000},
        receiver={"enabled": False},  # API tests reach the platform over ASGI, not panel ports
        media={"recording": False, "root": str(tmp_path / "recordings")},
    )
    async with open_platform(settings) as platform:
        transport = httpx.ASGITransport(app=create_api(platform.services))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield await build_world(platform, client)
