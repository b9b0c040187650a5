"""Points on the real stores: ownership rules, scope, partner sharing, moves, audit and events."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from safecity.bus.memory import MemoryBus, MemorySubscription
from safecity.core.errors import Conflict, NotFound, PermissionDenied
from safecity.core.events import Event, PointChanged, UserSignedIn
from safecity.core.paging import PageRequest
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
    OwnerKind,
    Ownership,
    Point,
    PointDraft,
    PointPatch,
    PointTag,
)
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox
from safecity.store.tables import AuditRow, DeviceRow
from safecity.testing.clock import FakeClock

ROOT = Scope(user_id=1, username="root", role=Role.ADMIN, org_path="/")
ALL = PageRequest(limit=100)


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
    """Shenzhen bureau > Futian branch > two stations, Luohu branch > one station; a point each
    at Futian 1, Futian 2 and Luohu 1."""

    db: Database
    points: PointService
    devices: DeviceService
    published: Published
    futian: OrgUnit
    futian_1: OrgUnit
    futian_2: OrgUnit
    luohu_1: OrgUnit
    civic_centre: Point
    lianhua_hill: Point
    dongmen: Point

    async def add_camera(self, point: Point) -> Device:
        return await self.devices.create(
            ROOT,
            DeviceDraft(point_id=point.id, kind=DeviceKind.CAMERA, name=f"camera at {point.name}"),
        )

    def scope(self, unit: OrgUnit, role: Role = Role.ADMIN) -> Scope:
        return Scope(user_id=2, username=f"{role}-of-{unit.id}", role=role, org_path=unit.path)


def point_draft(unit: OrgUnit, name: str, **fields: object) -> PointDraft:
    return PointDraft.model_validate(
        {"org_unit_id": unit.id, "name": name, "lat": 22.54, "lon": 114.06, **fields}
    )


@pytest.fixture
async def site(db: Database, clock: FakeClock) -> Site:
    bus = MemoryBus()
    ctx = RegistryContext(db=db, bus=bus, clock=clock, sealer=SecretBox(SecretBox.new_key()))
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
    devices = DeviceService(ctx)
    civic_centre = await points.create(
        ROOT, point_draft(futian_1, "Civic Centre", code="FT-001", tags=["traffic"])
    )
    lianhua_hill = await points.create(
        ROOT, point_draft(futian_2, "Lianhua Hill gate", tags=["scenic_area"])
    )
    dongmen = await points.create(
        ROOT, point_draft(luohu_1, "Dongmen pedestrian street", tags=["commercial_street"])
    )
    return Site(
        db,
        points,
        devices,
        Published(bus),
        futian,
        futian_1,
        futian_2,
        luohu_1,
        civic_centre,
        lianhua_hill,
        dongmen,
    )


async def audit_rows(db: Database) -> list[AuditRow]:
    async with db.session() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def device_row(db: Database, device_id: int) -> DeviceRow:
    async with db.session() as session:
        row = await session.get(DeviceRow, device_id)
    assert row is not None
    return row


# Creating


async def test_created_point_takes_its_units_path_and_reads_back_as_created(site: Site) -> None:
    assert site.civic_centre.org_unit_id == site.futian_1.id
    assert site.civic_centre.org_path == site.futian_1.path
    assert (site.civic_centre.code, site.civic_centre.lat, site.civic_centre.lon) == (
        "FT-001",
        22.54,
        114.06,
    )
    assert await site.points.get(ROOT, site.civic_centre.id) == site.civic_centre


async def test_tags_are_stored_once_and_sorted(site: Site) -> None:
    point = await site.points.create(
        ROOT, point_draft(site.futian_2, "Futian station", tags=["transport_hub", "bank", "bank"])
    )

    assert point.tags == [PointTag.BANK, PointTag.TRANSPORT_HUB]


async def test_duplicate_point_code_is_a_conflict(site: Site) -> None:
    with pytest.raises(Conflict, match="FT-001 is already used"):
        await site.points.create(ROOT, point_draft(site.futian_2, "Another", code="FT-001"))


# Ownership


async def test_third_party_point_keeps_its_owner(site: Site) -> None:
    point = await site.points.create(
        ROOT,
        point_draft(
            site.futian_1,
            "ICBC Shennan Road branch",
            ownership="third_party",
            owner_name="ICBC Shenzhen",
            owner_kind="bank",
            tags=["bank"],
        ),
    )

    assert (point.ownership, point.owner_name, point.owner_kind) == (
        Ownership.THIRD_PARTY,
        "ICBC Shenzhen",
        OwnerKind.BANK,
    )


@pytest.mark.parametrize(
    "owner", [{}, {"owner_name": "ICBC Shenzhen"}, {"owner_kind": "bank"}], ids=str
)
def test_third_party_point_needs_owner_name_and_kind(owner: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="needs owner_name and owner_kind"):
        PointDraft.model_validate(
            {"org_unit_id": 1, "name": "x", "lat": 0, "lon": 0, "ownership": "third_party", **owner}
        )


@pytest.mark.parametrize("owner", [{"owner_name": "ICBC"}, {"owner_kind": "bank"}], ids=str)
def test_in_house_point_has_no_owner(owner: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="in-house point has no owner"):
        PointDraft.model_validate({"org_unit_id": 1, "name": "x", "lat": 0, "lon": 0, **owner})


# Scope and roles


async def test_admin_lists_only_points_in_its_subtree(site: Site) -> None:
    station = await site.points.list(site.scope(site.futian_1), ALL)
    branch = await site.points.list(site.scope(site.futian), ALL)

    assert ([p.id for p in station.items], station.total) == ([site.civic_centre.id], 1)
    assert [p.id for p in branch.items] == [site.civic_centre.id, site.lianhua_hill.id]


async def test_station_admin_gets_not_found_for_another_stations_point(site: Site) -> None:
    station_admin = site.scope(site.futian_1)

    with pytest.raises(NotFound):
        await site.points.get(station_admin, site.dongmen.id)
    with pytest.raises(NotFound):
        await site.points.update(station_admin, site.dongmen.id, PointPatch(name="mine now"))
    with pytest.raises(NotFound):
        await site.points.delete(station_admin, site.dongmen.id)
    with pytest.raises(NotFound):
        await site.points.create(station_admin, point_draft(site.luohu_1, "sneaky"))


async def test_operator_and_viewer_may_read_but_not_change_points(site: Site) -> None:
    for role in (Role.OPERATOR, Role.VIEWER):
        scope = site.scope(site.futian_1, role)

        assert (await site.points.get(scope, site.civic_centre.id)).id == site.civic_centre.id
        with pytest.raises(PermissionDenied):
            await site.points.create(scope, point_draft(site.futian_1, "new"))
        with pytest.raises(PermissionDenied):
            await site.points.update(scope, site.civic_centre.id, PointPatch(name="renamed"))
        with pytest.raises(PermissionDenied):
            await site.points.delete(scope, site.civic_centre.id)


async def test_supervisor_may_change_points_in_its_scope(site: Site) -> None:
    supervisor = site.scope(site.futian_1, Role.SUPERVISOR)

    point = await site.points.update(supervisor, site.civic_centre.id, PointPatch(name="Civic"))

    assert point.name == "Civic"


# Partners


def partner(*shared: int) -> Scope:
    return Scope(
        user_id=9,
        username="traffic",
        role=Role.PARTNER,
        org_path="/x/",
        shared_points=frozenset(shared),
    )


async def test_partner_sees_only_shared_points(site: Site) -> None:
    traffic = partner(site.dongmen.id)

    page = await site.points.list(traffic, ALL)

    assert ([point.id for point in page.items], page.total) == ([site.dongmen.id], 1)
    assert (await site.points.get(traffic, site.dongmen.id)).name == "Dongmen pedestrian street"
    with pytest.raises(NotFound):
        await site.points.get(traffic, site.civic_centre.id)


async def test_partner_path_never_matches_real_paths(site: Site) -> None:
    """A partner's org_path of "/" would otherwise cover the whole tree."""
    anywhere = Scope(user_id=9, username="traffic", role=Role.PARTNER, org_path="/")

    assert (await site.points.list(anywhere, ALL)).total == 0
    with pytest.raises(NotFound):
        await site.points.get(anywhere, site.civic_centre.id)


async def test_partner_may_not_change_a_shared_point(site: Site) -> None:
    with pytest.raises(PermissionDenied):
        await site.points.update(partner(site.dongmen.id), site.dongmen.id, PointPatch(name="x"))


# Listing filters


async def test_list_filters_by_unit_tag_and_text(site: Site) -> None:
    by_unit = await site.points.list(ROOT, ALL, org_unit_id=site.futian_2.id)
    by_tag = await site.points.list(ROOT, ALL, tag=PointTag.COMMERCIAL_STREET)
    by_text = await site.points.list(ROOT, ALL, text="civic")

    assert [p.id for p in by_unit.items] == [site.lianhua_hill.id]
    assert [p.id for p in by_tag.items] == [site.dongmen.id]
    assert (by_tag.total, [p.id for p in by_text.items]) == (1, [site.civic_centre.id])


# Updating, moving, deleting


async def test_update_changes_only_the_given_fields(site: Site) -> None:
    point = await site.points.update(
        ROOT, site.dongmen.id, PointPatch(address="Jiefang Road", tags=[PointTag.SCHOOL])
    )

    assert (point.address, point.tags, point.name) == (
        "Jiefang Road",
        [PointTag.SCHOOL],
        "Dongmen pedestrian street",
    )


async def test_moving_a_point_moves_its_path_and_its_devices_paths(site: Site) -> None:
    camera = await site.add_camera(site.civic_centre)

    moved = await site.points.update(
        ROOT, site.civic_centre.id, PointPatch(org_unit_id=site.luohu_1.id)
    )

    assert (moved.org_unit_id, moved.org_path) == (site.luohu_1.id, site.luohu_1.path)
    assert (await device_row(site.db, camera.id)).org_path == site.luohu_1.path
    old_station, new_station = site.scope(site.futian_1), site.scope(site.luohu_1)
    assert (await site.points.list(old_station, ALL)).total == 0
    assert (await site.devices.list(old_station, ALL)).total == 0
    assert [d.id for d in (await site.devices.list(new_station, ALL)).items] == [camera.id]


async def test_moving_a_point_out_of_the_callers_scope_is_not_found(site: Site) -> None:
    branch_admin = site.scope(site.futian)

    with pytest.raises(NotFound):
        await site.points.update(
            branch_admin, site.civic_centre.id, PointPatch(org_unit_id=site.luohu_1.id)
        )
    assert (await site.points.get(ROOT, site.civic_centre.id)).org_path == site.futian_1.path


async def test_delete_removes_the_point_and_its_devices(site: Site) -> None:
    camera = await site.add_camera(site.civic_centre)

    await site.points.delete(ROOT, site.civic_centre.id)

    with pytest.raises(NotFound):
        await site.points.get(ROOT, site.civic_centre.id)
    with pytest.raises(NotFound):
        await site.devices.get(ROOT, camera.id)


# Audit and events


async def test_create_writes_one_audit_record_and_publishes_one_event(
    site: Site, clock: FakeClock
) -> None:
    before = len(await audit_rows(site.db))
    clock.advance(5)

    point = await site.points.create(site.scope(site.futian_2), point_draft(site.futian_2, "Gate"))

    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].target, rows[-1].org_path) == (
        "point.create",
        f"point:{point.id}",
        site.futian_2.path,
    )
    assert await site.published.drain() == [
        PointChanged(
            at=clock.now(),
            org_path=site.futian_2.path,
            actor=f"admin-of-{site.futian_2.id}",
            point_id=point.id,
            change="created",
        )
    ]


async def test_update_writes_one_audit_record_with_the_changes_and_publishes_one_event(
    site: Site,
) -> None:
    before = len(await audit_rows(site.db))

    await site.points.update(ROOT, site.civic_centre.id, PointPatch(org_unit_id=site.futian_2.id))

    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].detail) == (
        "point.update",
        {"org_unit_id": site.futian_2.id},
    )
    assert rows[-1].org_path == site.futian_2.path
    events = await site.published.drain()
    assert [(e.subject, e.org_path) for e in events] == [("org.point.updated", site.futian_2.path)]


async def test_delete_writes_one_audit_record_and_publishes_one_event(site: Site) -> None:
    before = len(await audit_rows(site.db))

    await site.points.delete(ROOT, site.dongmen.id)

    rows = await audit_rows(site.db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].target) == ("point.delete", f"point:{site.dongmen.id}")
    assert [e.subject for e in await site.published.drain()] == ["org.point.deleted"]
