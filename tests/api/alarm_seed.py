"""Alarms for the API tests, written straight to the store (as the processor would) on accounts
and points of the World."""

from __future__ import annotations

import itertools
from typing import Any

from safecity.access.models import GrantDraft
from safecity.core.scope import Department, Right
from safecity.org.models import PointDraft
from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow

from .conftest import ROOT, World

_numbers = itertools.count(0xA100)


async def seed_alarm(world: World, unit: str, *, point_id: int | None = None, **fields: Any) -> int:
    """A new burglary alarm of a fresh account in `unit` (at `point_id`, if given)."""
    platform = world.platform
    unit_row = await platform.services.units.get(ROOT, world.ids[unit])
    now = platform.clock.now()
    async with platform.db.write() as session:
        account = AlarmAccountRow(
            account=f"{next(_numbers):X}",
            name="seeded",
            org_unit_id=unit_row.id,
            org_path=unit_row.path,
            point_id=point_id,
            require_encryption=False,
            grace_s=0,
            schedule={},
            contacts=[],
            action_plans={"burglary": ["Call the keyholder"]},
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        session.add(account)
        await session.flush()
        values: dict[str, Any] = {
            "account_id": account.id,
            "account": account.account,
            "org_unit_id": account.org_unit_id,
            "org_path": account.org_path,
            "point_id": point_id,
            "source": "panel",
            "format": "contact_id",
            "code": "130",
            "category": "burglary",
            "priority": 2,
            "title_en": "Burglary - zone 1",
            "title_zh": "盗警 - 防区1",
            "zone": 1,
            "state": "new",
            "raised_at": now,
            "notes": "",
            "cameras": [],
            "updated_at": now,
        }
        values.update(fields)
        alarm = AlarmRow(**values)
        session.add(alarm)
        await session.flush()
        return alarm.id


async def alarm_id(world: World, key: str) -> int:
    """The World's alarm `key` ("alarm_in", "alarm_out", "alarm_shared"), made on first use.
    "alarm_shared" sits at a point of unit_out granted to the traffic partner with the alarms
    right."""
    if key not in world.ids:
        if key == "alarm_shared":
            point = await world.platform.services.points.create(
                ROOT,
                PointDraft(
                    org_unit_id=world.ids["unit_out"], name="alarm site", lat=22.54, lon=114.05
                ),
            )
            await world.platform.services.grants.create(
                ROOT,
                GrantDraft(
                    department=Department.TRAFFIC,
                    point_id=point.id,
                    rights=[Right.ALARMS],
                    expires_at=None,
                ),
            )
            world.ids[key] = await seed_alarm(world, "unit_out", point_id=point.id)
        else:
            unit = "unit_in" if key == "alarm_in" else "unit_out"
            world.ids[key] = await seed_alarm(world, unit)
    return world.ids[key]
