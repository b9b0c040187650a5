"""Devices on the real stores: GB/T 28181 code allocation, sealed credentials, scope, partners,
audit and events."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from safecity.bus.memory import MemoryBus, MemorySubscription
from safecity.core.errors import Conflict, NotFound, PermissionDenied
from safecity.core.events import DeviceChanged, Event, UserSignedIn
from safecity.core.ids import GbCode
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope
from safecity.org.devices import DeviceService
from safecity.org.journal import RegistryContext
from safecity.org.models import (
    Device,
    DeviceDraft,
    DeviceKind,
    DevicePatch,
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
from safecity.store.tables import AuditRow, DeviceRow
from safecity.testing.clock import FakeClock

ROOT = Scope(user_id=1, username="root", role=Role.ADMIN, org_path="/")
ALL = PageRequest(limit=100)
PASSWORD = "Hik-12345!"


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
class Site:
    """Shenzhen bureau > Futian branch > stations 44030401 and 44030402, Luohu branch > station
    44030301; one point per station, and a camera with a password at Futian 1."""

    db: Database
    sealer: SecretBox
    points: PointService
    devices: DeviceService
    published: Published
    futian_1: OrgUnit
    futian_2: OrgUnit
    luohu_1: OrgUnit
    civic_centre: Point
    lianhua_hill: Point
    dongmen: Point
    camera: Device

    def scope(self, unit: OrgUnit, role: Role = Role.ADMIN) -> Scope:
        return Scope(user_id=2, username=f"{role}-of-{unit.id}", role=role, org_path=unit.path)


def device_draft(
    point: Point, kind: DeviceKind = DeviceKind.CAMERA, **fields: object
) -> DeviceDraft:
    return DeviceDraft.model_validate(
        {"point_id": point.id, "kind": kind, "name": f"{kind} at {point.name}", **fields}
    )


@pytest.fixture
async def site(db: Database, clock: FakeClock) -> Site:
    bus = MemoryBus()
    sealer = SecretBox(SecretBox.new_key())
    ctx = RegistryContext(db=db, bus=bus, clock=clock, sealer=sealer)
    units = OrgUnitService(ctx)

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
    points = PointService(ctx)

    async def point(at: OrgUnit, name: str) -> Point:
        return await points.create(
            ROOT, PointDraft(org_unit_id=at.id, name=name, lat=22.54, lon=114.06)
        )

    civic_centre = await point(futian_1, "Civic Centre")
    lianhua_hill = await point(futian_2, "Lianhua Hill")
    dongmen = await point(luohu_1, "Dongmen")
    devices = DeviceService(ctx)
    camera = await devices.create(
        ROOT,
        device_draft(
            civic_centre, host="10.1.2.3", port=554, username="admin", password=SecretStr(PASSWORD)
        ),
    )
    return Site(
        db,
        sealer,
        points,
        devices,
        Published(bus),
        futian_1,
        futian_2,
        luohu_1,
        civic_centre,
        lianhua_hill,
        dongmen,
        camera,
    )


async def audit_rows(db: Database) -> list[AuditRow]:
    async with db.session() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def device_row(db: Database, device_id: int) -> DeviceRow:
    async with db.session() as session:
        row = await session.get(DeviceRow, device_id)
    assert row is not None
    return row


# GB/T 28181 codes


async def test_camera_gets_the_first_ipc_code_under_its_units_centre_code(site: Site) -> None:
    code = GbCode.parse(site.camera.gb_id)

    assert (code.centre, code.industry, code.type_code, code.network, code.serial) == (
        "44030401",
        "00",
        "132",
        "0",
        1,
    )
    assert (site.camera.point_id, site.camera.org_path) == (
        site.civic_centre.id,
        site.futian_1.path,
    )


async def test_allocated_code_carries_the_type_code_of_the_kind(site: Site) -> None:
    kinds = [DeviceKind.CAMERA, DeviceKind.ALARM_PANEL, DeviceKind.NVR]

    codes = [(await site.devices.create(ROOT, device_draft(site.dongmen, k))).gb_id for k in kinds]

    assert codes == ["44030301001320000001", "44030301001170000001", "44030301001180000001"]


async def test_serials_count_up_per_unit_centre_code(site: Site) -> None:
    second = await site.devices.create(ROOT, device_draft(site.civic_centre))
    third = await site.devices.create(ROOT, device_draft(site.civic_centre))
    elsewhere = await site.devices.create(ROOT, device_draft(site.lianhua_hill))

    assert [second.gb_id, third.gb_id] == ["44030401001320000002", "44030401001320000003"]
    assert elsewhere.gb_id == "44030402001320000001"


async def test_explicit_gb_id_is_kept_and_allocation_skips_it(site: Site) -> None:
    explicit = await site.devices.create(
        ROOT, device_draft(site.civic_centre, gb_id="44030401001320000002")
    )

    allocated = await site.devices.create(ROOT, device_draft(site.civic_centre))

    assert explicit.gb_id == "44030401001320000002"
    assert allocated.gb_id == "44030401001320000003"


async def test_third_party_points_get_the_industry_code_of_their_owner(site: Site) -> None:
    codes = {}
    for owner_kind in ("community", "school", "bank"):
        point = await site.points.create(
            ROOT,
            PointDraft.model_validate(
                {
                    "org_unit_id": site.futian_2.id,
                    "name": f"{owner_kind} site",
                    "lat": 22.5,
                    "lon": 114.0,
                    "ownership": "third_party",
                    "owner_name": "Owner Ltd",
                    "owner_kind": owner_kind,
                }
            ),
        )
        codes[owner_kind] = (await site.devices.create(ROOT, device_draft(point))).gb_id

    assert codes == {
        "community": "44030402011320000001",
        "school": "44030402111320000001",
        "bank": "44030402031320000001",  # other social-security access
    }


async def test_duplicate_explicit_gb_id_is_a_conflict(site: Site) -> None:
    with pytest.raises(Conflict, match=f"{site.camera.gb_id} is already registered"):
        await site.devices.create(ROOT, device_draft(site.dongmen, gb_id=site.camera.gb_id))


@pytest.mark.parametrize("gb_id", ["4403040100132000001", "99030401001320000001"])
def test_malformed_gb_id_is_rejected_by_the_draft(gb_id: str) -> None:
    with pytest.raises(ValidationError, match="gb_id"):
        DeviceDraft(point_id=1, kind=DeviceKind.CAMERA, name="x", gb_id=gb_id)


# Credentials


async def test_password_is_stored_sealed(site: Site) -> None:
    row = await device_row(site.db, site.camera.id)

    assert row.secret is not None
    assert PASSWORD.encode() not in row.secret
    assert site.sealer.open(row.secret) == PASSWORD


async def test_password_never_appears_in_the_read_model(site: Site) -> None:
    read = await site.devices.get(ROOT, site.camera.id)

    assert read.has_password
    assert PASSWORD not in read.model_dump_json()
    assert "password" not in read.model_dump()


async def test_device_without_a_password_says_so(site: Site) -> None:
    device = await site.devices.create(ROOT, device_draft(site.dongmen))

    assert not device.has_password
    assert (await site.devices.credentials(ROOT, device.id)) == (None, None)


async def test_credentials_returns_the_password_to_an_admin_and_audits_it(site: Site) -> None:
    before = len(await audit_rows(site.db))
    station_admin = site.scope(site.futian_1)

    credentials = await site.devices.credentials(station_admin, site.camera.id)

    assert credentials == ("admin", PASSWORD)
    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].target, rows[-1].actor) == (
        "device.credentials",
        f"device:{site.camera.id}",
        station_admin.username,
    )
    assert PASSWORD not in str(rows[-1].detail)
    assert await site.published.drain() == []


async def test_only_admins_read_credentials(site: Site) -> None:
    for role in (Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER):
        with pytest.raises(PermissionDenied):
            await site.devices.credentials(site.scope(site.futian_1, role), site.camera.id)


async def test_changing_the_password_reseals_it_and_masks_it_in_the_audit(site: Site) -> None:
    await site.devices.update(ROOT, site.camera.id, DevicePatch(password=SecretStr("n3w-pass")))

    assert (await site.devices.credentials(ROOT, site.camera.id))[1] == "n3w-pass"
    update = [row for row in await audit_rows(site.db) if row.action == "device.update"]
    assert update[-1].detail == {"password": "***"}


# Scope, roles and partners


async def test_station_admin_lists_only_devices_of_its_station(site: Site) -> None:
    await site.devices.create(ROOT, device_draft(site.dongmen))

    page = await site.devices.list(site.scope(site.futian_1), ALL)

    assert [device.id for device in page.items] == [site.camera.id]


async def test_station_admin_gets_not_found_for_another_stations_device(site: Site) -> None:
    other_station = site.scope(site.luohu_1)

    with pytest.raises(NotFound):
        await site.devices.get(other_station, site.camera.id)
    with pytest.raises(NotFound):
        await site.devices.update(other_station, site.camera.id, DevicePatch(name="mine"))
    with pytest.raises(NotFound):
        await site.devices.delete(other_station, site.camera.id)
    with pytest.raises(NotFound):
        await site.devices.credentials(other_station, site.camera.id)
    with pytest.raises(NotFound):
        await site.devices.create(other_station, device_draft(site.civic_centre))


async def test_operator_and_viewer_may_read_but_not_change_devices(site: Site) -> None:
    for role in (Role.OPERATOR, Role.VIEWER):
        scope = site.scope(site.futian_1, role)

        assert (await site.devices.get(scope, site.camera.id)).id == site.camera.id
        with pytest.raises(PermissionDenied):
            await site.devices.create(scope, device_draft(site.civic_centre))
        with pytest.raises(PermissionDenied):
            await site.devices.update(scope, site.camera.id, DevicePatch(enabled=False))
        with pytest.raises(PermissionDenied):
            await site.devices.delete(scope, site.camera.id)


async def test_partner_sees_only_devices_of_shared_points(site: Site) -> None:
    shared = await site.devices.create(ROOT, device_draft(site.dongmen))
    traffic = Scope(
        user_id=9,
        username="traffic",
        role=Role.PARTNER,
        org_path="/x/",
        shared_points=frozenset({site.dongmen.id}),
    )

    page = await site.devices.list(traffic, ALL)

    assert [device.id for device in page.items] == [shared.id]
    assert (await site.devices.get(traffic, shared.id)).gb_id == shared.gb_id
    with pytest.raises(NotFound):
        await site.devices.get(traffic, site.camera.id)
    with pytest.raises(PermissionDenied):
        await site.devices.update(traffic, shared.id, DevicePatch(name="ours"))


async def test_list_filters_by_point_and_kind(site: Site) -> None:
    panel = await site.devices.create(ROOT, device_draft(site.civic_centre, DeviceKind.ALARM_PANEL))
    await site.devices.create(ROOT, device_draft(site.dongmen))

    by_point = await site.devices.list(ROOT, ALL, point_id=site.civic_centre.id)
    by_kind = await site.devices.list(ROOT, ALL, kind=DeviceKind.ALARM_PANEL)

    assert [d.id for d in by_point.items] == [site.camera.id, panel.id]
    assert [d.id for d in by_kind.items] == [panel.id]


# Changes, audit and events


async def test_create_writes_one_audit_record_and_publishes_one_event(
    site: Site, clock: FakeClock
) -> None:
    before = len(await audit_rows(site.db))
    clock.advance(30)

    device = await site.devices.create(
        ROOT, device_draft(site.dongmen, DeviceKind.NVR, password=SecretStr(PASSWORD))
    )

    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert "password" not in rows[-1].detail
    assert PASSWORD not in str(rows[-1].detail)
    assert (rows[-1].action, rows[-1].target, rows[-1].org_path) == (
        "device.create",
        f"device:{device.id}",
        site.luohu_1.path,
    )
    assert await site.published.drain() == [
        DeviceChanged(
            at=clock.now(),
            org_path=site.luohu_1.path,
            actor="root",
            device_id=device.id,
            point_id=site.dongmen.id,
            change="created",
        )
    ]


async def test_update_writes_one_audit_record_and_publishes_one_event(site: Site) -> None:
    before = len(await audit_rows(site.db))

    updated = await site.devices.update(
        ROOT, site.camera.id, DevicePatch(enabled=False, host="10.1.2.4")
    )

    assert (updated.enabled, updated.host, updated.port) == (False, "10.1.2.4", 554)
    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].detail) == (
        "device.update",
        {"enabled": False, "host": "10.1.2.4"},
    )
    assert [e.subject for e in await site.published.drain()] == ["org.device.updated"]


async def test_delete_writes_one_audit_record_and_publishes_one_event(site: Site) -> None:
    before = len(await audit_rows(site.db))

    await site.devices.delete(ROOT, site.camera.id)

    with pytest.raises(NotFound):
        await site.devices.get(ROOT, site.camera.id)
    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].detail) == (
        "device.delete",
        {"gb_id": site.camera.gb_id, "name": site.camera.name},
    )
    assert [e.subject for e in await site.published.drain()] == ["org.device.deleted"]
