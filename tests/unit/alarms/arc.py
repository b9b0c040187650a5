"""Seeding helpers for the alarm-lifecycle tests: accounts, zones, inbox rows and alarms written
straight to the store (the account service has its own tests)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import select

from safecity.core.events import AlarmChanged, AlarmRaised, Event
from safecity.org.models import OrgUnit, Point
from safecity.store.alarm_tables import (
    AlarmAccountRow,
    AlarmActionRow,
    AlarmRow,
    AlarmSignalRow,
    AlarmZoneRow,
)
from safecity.store.db import Database

from .conftest import City

_numbers = itertools.count(0x1000)


async def seed_account(
    city: City,
    *,
    unit: OrgUnit | None = None,
    point: Point | None = None,
    number: str | None = None,
    zones: list[tuple[int, str, str, list[int]]] | None = None,
    supervision_s: int | None = None,
    grace_s: int = 0,
    schedule: dict[str, Any] | None = None,
    action_plans: dict[str, Any] | None = None,
    enabled: bool = True,
) -> AlarmAccountRow:
    """An account (default: at the Civic Centre in Futian 1) with zones (number, name, detector,
    camera ids)."""
    unit = unit or city.futian_1
    now = city.ctx.clock.now()
    row = AlarmAccountRow(
        account=number or f"{next(_numbers):X}",
        name="subscriber",
        org_unit_id=unit.id,
        org_path=unit.path,
        point_id=point.id if point is not None else city.civic_centre.id,
        require_encryption=False,
        supervision_s=supervision_s,
        grace_s=grace_s,
        schedule=schedule or {},
        contacts=[],
        action_plans=action_plans or {},
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    async with city.db.write() as session:
        session.add(row)
        await session.flush()
        for zone, name, detector, cameras in zones or []:
            session.add(
                AlarmZoneRow(
                    account_id=row.id,
                    number=zone,
                    name=name,
                    detector=detector,
                    camera_ids=cameras,
                )
            )
    return row


async def seed_alarm(city: City, account: AlarmAccountRow, **fields: Any) -> int:
    """An alarm of `account` (burglary, priority 2, new, raised now unless given)."""
    now = city.ctx.clock.now()
    values: dict[str, Any] = {
        "account_id": account.id,
        "account": account.account,
        "org_unit_id": account.org_unit_id,
        "org_path": account.org_path,
        "point_id": account.point_id,
        "source": "panel",
        "format": "contact_id",
        "code": "130",
        "category": "burglary",
        "priority": 2,
        "title_en": "Burglary",
        "title_zh": "盗警",
        "zone": 1,
        "state": "new",
        "raised_at": now,
        "notes": "",
        "cameras": [],
        "updated_at": now,
    }
    values.update(fields)
    async with city.db.write() as session:
        row = AlarmRow(**values)
        session.add(row)
        await session.flush()
        return row.id


_sequence = itertools.count(1)


async def add_signal(
    db: Database,
    account: str,
    data: str,
    *,
    token: str = "ADM-CID",
    received_at: datetime,
) -> int:
    """One inbox row as the receiver writes it."""
    sequence = next(_sequence)
    async with db.write() as session:
        row = AlarmSignalRow(
            account=account,
            sequence=sequence % 10000,
            token=token,
            sent_at=received_at,
            data=data,
            dedupe=f"{account}-{sequence}",
            received_at=received_at,
            transport="tcp",
            peer="127.0.0.1:5000",
        )
        session.add(row)
        await session.flush()
        return row.id


async def alarms_of(db: Database, account_id: int | None = None) -> list[AlarmRow]:
    async with db.session() as session:
        query = select(AlarmRow).order_by(AlarmRow.id)
        if account_id is not None:
            query = query.where(AlarmRow.account_id == account_id)
        return list((await session.scalars(query)).all())


async def actions_of(db: Database, alarm_id: int) -> list[str]:
    async with db.session() as session:
        query = select(AlarmActionRow.action).where(AlarmActionRow.alarm_id == alarm_id)
        return list((await session.scalars(query.order_by(AlarmActionRow.id))).all())


async def account_row(db: Database, account_id: int) -> AlarmAccountRow:
    async with db.session() as session:
        row = await session.get(AlarmAccountRow, account_id)
        assert row is not None
        return row


def alarm_events(events: list[Event]) -> list[tuple[str, int, str]]:
    """(kind, alarm id, change or code) of the alarm events among `events`."""
    found: list[tuple[str, int, str]] = []
    for event in events:
        if isinstance(event, AlarmRaised):
            found.append(("raised", event.alarm_id, event.code))
        elif isinstance(event, AlarmChanged):
            found.append(("changed", event.alarm_id, event.change))
    return found
