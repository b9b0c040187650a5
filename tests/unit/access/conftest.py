"""A small city on the real stores for the access tests: a bureau with two police stations, one
point in each, and the access services over them. Org rows are inserted directly (access does not
depend on the org package)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.access.audit import AuditService
from safecity.access.context import AccessContext, SignInLimits
from safecity.access.grants import GrantService
from safecity.access.models import User, UserDraft
from safecity.access.signin import SignInService
from safecity.access.tokens import TokenService
from safecity.access.users import UserService
from safecity.bus.memory import MemoryBus, MemorySubscription
from safecity.core.events import Event
from safecity.core.scope import Department, Role, Scope
from safecity.store.db import Database
from safecity.store.tables import AuditRow, OrgUnitRow, PointRow
from safecity.testing.clock import FakeClock

E = TypeVar("E", bound=Event)

PASSWORD = "correct horse battery"
LIMITS = SignInLimits(token_ttl_s=3600, lockout_after=3, lockout_s=900, login_per_minute=5)
ROOT = Scope(user_id=0, username="root", role=Role.ADMIN, org_path="/")


async def add_unit(
    session: AsyncSession, parent: OrgUnitRow | None, code: str, clock: FakeClock
) -> OrgUnitRow:
    row = OrgUnitRow(
        parent_id=parent.id if parent else None,
        path="",
        level=parent.level + 1 if parent else 0,
        kind="station" if parent else "bureau",
        name=f"unit {code}",
        centre_code=code,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    row.path = f"{parent.path if parent else '/'}{row.id}/"
    await session.flush()
    return row


async def add_point(session: AsyncSession, unit: OrgUnitRow, name: str, clock: FakeClock) -> int:
    row = PointRow(
        org_unit_id=unit.id,
        org_path=unit.path,
        name=name,
        lat=22.54,
        lon=114.05,
        tags=[],
        ownership="in_house",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(row)
    await session.flush()
    return row.id


class Published:
    """Events published on the bus since this was built."""

    def __init__(self, bus: MemoryBus) -> None:
        self._subscription: MemorySubscription = bus.subscribe(">")

    async def next(self) -> Event:
        delivery = await asyncio.wait_for(anext(aiter(self._subscription)), timeout=1)
        return delivery.event

    async def next_of(self, kind: type[E]) -> E:
        """The next event of one type, skipping others (fails after a second without one)."""
        while not isinstance(event := await self.next(), kind):
            pass
        return event


@dataclass
class City:
    """A bureau over stations A and B, one point in each, and the access services."""

    db: Database
    clock: FakeClock
    ctx: AccessContext
    published: Published
    users: UserService
    signin: SignInService
    tokens: TokenService
    grants: GrantService
    audit: AuditService
    bureau: OrgUnitRow
    station_a: OrgUnitRow
    station_b: OrgUnitRow
    point_a: int
    point_b: int

    def scope(self, unit: OrgUnitRow, role: Role = Role.ADMIN, user_id: int = 999) -> Scope:
        return Scope(user_id=user_id, username=f"{role}-{unit.id}", role=role, org_path=unit.path)

    async def add_user(
        self,
        username: str,
        unit: OrgUnitRow,
        role: Role = Role.OPERATOR,
        department: Department | None = None,
    ) -> User:
        draft = UserDraft(
            username=username,
            display_name=username.title(),
            password=SecretStr(PASSWORD),
            role=role,
            org_unit_id=unit.id,
            department=department,
        )
        return await self.users.create(ROOT, draft)

    async def audit_rows(self) -> list[AuditRow]:
        async with self.db.session() as session:
            return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


@pytest.fixture
async def city(db: Database, clock: FakeClock) -> City:
    async with db.write() as session:
        bureau = await add_unit(session, None, "44030000", clock)
        station_a = await add_unit(session, bureau, "44030401", clock)
        station_b = await add_unit(session, bureau, "44030402", clock)
        point_a = await add_point(session, station_a, "crossing A", clock)
        point_b = await add_point(session, station_b, "crossing B", clock)
    bus = MemoryBus()
    ctx = AccessContext(db=db, bus=bus, clock=clock, limits=LIMITS)
    return City(
        db=db,
        clock=clock,
        ctx=ctx,
        published=Published(bus),
        users=UserService(ctx),
        signin=SignInService(ctx),
        tokens=TokenService(ctx),
        grants=GrantService(ctx),
        audit=AuditService(ctx),
        bureau=bureau,
        station_a=station_a,
        station_b=station_b,
        point_a=point_a,
        point_b=point_b,
    )
