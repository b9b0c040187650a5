"""Linkage on the real stores: zone cameras, else the point's, else the nearest ones around."""

from __future__ import annotations

from safecity.alarms.linkage import LinkageRules, cameras_for
from safecity.core.geo import LatLon
from safecity.org.models import DeviceDraft, DeviceKind, OrgUnit, Point, PointDraft
from safecity.store.alarm_tables import AlarmZoneRow

from .arc import seed_account
from .conftest import ROOT, City

# About 111 m per 0.001 degree of latitude.
SITE = LatLon(22.6, 114.1)


async def point_at(city: City, unit: OrgUnit, name: str, north_m: float) -> Point:
    return await city.points.create(
        ROOT,
        PointDraft(org_unit_id=unit.id, name=name, lat=SITE.lat + north_m / 111_195, lon=SITE.lon),
    )


async def camera_at(city: City, point: Point, kind: DeviceKind = DeviceKind.CAMERA) -> int:
    device = await city.devices.create(ROOT, DeviceDraft(point_id=point.id, kind=kind, name="c"))
    return device.id


async def test_the_zone_cameras_come_first_as_listed(city: City) -> None:
    account = await seed_account(city, zones=[(4, "Vault", "vibration", [9, 3])])
    zone = AlarmZoneRow(
        account_id=account.id, number=4, name="Vault", detector="pir", camera_ids=[9, 3]
    )
    async with city.db.session() as session:
        assert await cameras_for(session, account, zone) == [9, 3]


async def test_without_zone_cameras_the_points_own_cameras(city: City) -> None:
    account = await seed_account(city)  # at the Civic Centre, which has one camera and a panel
    async with city.db.session() as session:
        assert await cameras_for(session, account, None) == [city.camera.id]


async def test_without_cameras_at_the_point_the_nearest_within_the_radius(city: City) -> None:
    site = await point_at(city, city.futian_2, "site", 0)
    await camera_at(city, site, DeviceKind.ALARM_PANEL)
    far = [
        await camera_at(city, await point_at(city, city.luohu_1, f"p{m}", m)) for m in (250, 400)
    ]
    near = [
        await camera_at(city, await point_at(city, city.futian_1, f"p{m}", m)) for m in (50, 120)
    ]
    mid = [
        await camera_at(city, await point_at(city, city.futian_1, "p200", -200)) for _ in range(2)
    ]
    account = await seed_account(city, unit=city.futian_2, point=site)

    async with city.db.session() as session:
        found = await cameras_for(session, account, None)
        wider = await cameras_for(session, account, None, LinkageRules(radius_m=500, limit=10))
    assert found == [*near, *mid]
    assert far[1] not in found
    assert wider == [*near, *mid, far[0], far[1]]


async def test_nothing_near_gives_no_cameras(city: City) -> None:
    lonely = await city.points.create(
        ROOT, PointDraft(org_unit_id=city.futian_2.id, name="lonely", lat=30.0, lon=100.0)
    )
    account = await seed_account(city, unit=city.futian_2, point=lonely)
    async with city.db.session() as session:
        assert await cameras_for(session, account, None) == []
