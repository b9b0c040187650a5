"""A small city for the alarm account tests: two branches, three stations, a point each, a camera
and an alarm panel at the Futian 1 point, and the account service over the real stores."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from safecity.alarms.accounts import AccountService
from safecity.alarms.context import AlarmContext
from safecity.bus.memory import MemoryBus, MemorySubscription
from safecity.core.events import Event, UserSignedIn
from safecity.core.scope import Role, Scope
from safecity.org.devices import DeviceService
from safecity.org.journal import RegistryContext
from safecity.org.models import (
    Device,
    DeviceDraft,
    DeviceKind,
    OrgUnit,
    OrgUnitDraft,
    OrgUnitKind,
    Point,
    PointDraft,
)
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox
from safecity.store.tables import AuditRow
from safecity.testing.clock import FakeClock

ROOT = Scope(user_id=1, username="root", role=Role.ADMIN, org_path="/")


class Published:
    """Everything published on the bus since it was built (a `>` subscription)."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._subscription: MemorySubscription = bus.subscribe(">")

    async def drain(self) -> list[Event]:
        """The events published since the last drain (up to a marker this publishes)."""
        marker = UserSignedIn(at=FakeClock().now(), org_path="/", username="test-marker")
        await self._bus.publish(marker)
        events: list[Event] = []
        async for delivery in self._subscription:
            if delivery.event == marker:
                return events
            events.append(delivery.event)
        raise AssertionError("the subscription closed before the marker came")


@dataclass
class City:
    db: Database
    ctx: AlarmContext
    accounts: AccountService
    points: PointService
    devices: DeviceService
    published: Published
    futian: OrgUnit
    futian_1: OrgUnit
    futian_2: OrgUnit
    luohu_1: OrgUnit
    civic_centre: Point  # Futian 1, code FT-001
    lianhua_hill: Point  # Futian 2, code FT-002
    dongmen: Point  # Luohu 1, code LH-001
    camera: Device  # at the Civic Centre
    panel: Device  # an alarm panel at the Civic Centre
    far_camera: Device  # at Dongmen

    def scope(self, unit: OrgUnit, role: Role = Role.ADMIN) -> Scope:
        return Scope(user_id=2, username=f"{role}-of-{unit.id}", role=role, org_path=unit.path)

    async def audit(self) -> list[AuditRow]:
        async with self.db.session() as session:
            return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


@pytest.fixture
async def city(db: Database, clock: FakeClock) -> City:
    bus = MemoryBus()
    box = SecretBox(SecretBox.new_key())
    registry = RegistryContext(db=db, bus=bus, clock=clock, sealer=box)
    units = OrgUnitService(registry)

    async def unit(parent: OrgUnit, code: str, kind: OrgUnitKind) -> OrgUnit:
        return await units.create(
            ROOT, OrgUnitDraft(parent_id=parent.id, name=code, kind=kind, centre_code=code)
        )

    bureau = await units.create_root(
        OrgUnitDraft(name="Shenzhen PSB", kind=OrgUnitKind.BUREAU, centre_code="44030000"),
        actor=ROOT,
    )
    futian = await unit(bureau, "44030400", OrgUnitKind.BRANCH)
    luohu = await unit(bureau, "44030300", OrgUnitKind.BRANCH)
    futian_1 = await unit(futian, "44030401", OrgUnitKind.STATION)
    futian_2 = await unit(futian, "44030402", OrgUnitKind.STATION)
    luohu_1 = await unit(luohu, "44030301", OrgUnitKind.STATION)
    points = PointService(registry)
    devices = DeviceService(registry)

    async def point(at: OrgUnit, name: str, code: str) -> Point:
        return await points.create(
            ROOT, PointDraft(org_unit_id=at.id, name=name, code=code, lat=22.54, lon=114.06)
        )

    civic_centre = await point(futian_1, "Civic Centre", "FT-001")
    lianhua_hill = await point(futian_2, "Lianhua Hill", "FT-002")
    dongmen = await point(luohu_1, "Dongmen", "LH-001")

    async def device(at: Point, kind: DeviceKind) -> Device:
        return await devices.create(
            ROOT, DeviceDraft(point_id=at.id, kind=kind, name=f"{kind} at {at.name}")
        )

    camera = await device(civic_centre, DeviceKind.CAMERA)
    panel = await device(civic_centre, DeviceKind.ALARM_PANEL)
    far_camera = await device(dongmen, DeviceKind.CAMERA)
    ctx = AlarmContext(db=db, bus=bus, clock=clock, sealer=box)
    return City(
        db=db,
        ctx=ctx,
        accounts=AccountService(ctx),
        points=points,
        devices=devices,
        published=Published(bus),
        futian=futian,
        futian_1=futian_1,
        futian_2=futian_2,
        luohu_1=luohu_1,
        civic_centre=civic_centre,
        lianhua_hill=lianhua_hill,
        dongmen=dongmen,
        camera=camera,
        panel=panel,
        far_camera=far_camera,
    )
