"""Exports of points: CSV that re-imports, GeoJSON without secrets, a citizens' GeoJSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from safecity.bus.memory import MemoryBus
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope
from safecity.org.devices import DeviceService
from safecity.org.exporter import PointExporter
from safecity.org.importer import PointImporter
from safecity.org.journal import RegistryContext
from safecity.org.models import (
    DeviceDraft,
    DeviceKind,
    OrgUnitDraft,
    OrgUnitKind,
    OwnerKind,
    Ownership,
    Point,
    PointDraft,
    PointTag,
)
from safecity.org.points import PointService
from safecity.org.sheet import quote_formula, unquote_formula
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.repositories import audit
from safecity.store.secretbox import SecretBox
from safecity.testing.clock import FakeClock

PASSWORD = "s3cret-pa55"  # must never leak
ALL = PageRequest(limit=10_000)
STREAM = "rtsp://cam:s3cret-pa55@10.20.30.40:554/Streaming/Channels/101"
UNITS = (  # (parent, code, kind): Shenzhen bureau, Futian and Nanshan branches, a station each
    (None, "44030000", OrgUnitKind.BUREAU),
    ("44030000", "44030400", OrgUnitKind.BRANCH),
    ("44030400", "44030401", OrgUnitKind.STATION),
    ("44030000", "44030500", OrgUnitKind.BRANCH),
    ("44030500", "44030501", OrgUnitKind.STATION),
)
DRAFTS: dict[str, dict[str, Any]] = {  # point name -> station and fields other than defaults
    "福田口岸": {
        "station": "44030401",
        "code": "SZ-1",
        "tags": [PointTag.CHECKPOINT],
        "public_signage": True,
        "address": '福田区福强路 1 号, "南"门\n二号岗',
        "lat": 22.516123456789,
    },
    '=HYPERLINK("http://x")': {
        "station": "44030401",
        "address": "-1 层",
        "lat": -33.5,
        "lon": -70.25,
    },
    "招商银行": {
        "station": "44030501",
        "code": "@bank",
        "ownership": Ownership.THIRD_PARTY,
        "owner_name": "招商银行深圳分行",
        "owner_kind": OwnerKind.BANK,
        "public_signage": True,
        "tags": [PointTag.BANK, PointTag.KEY_UNIT],
    },
    "南山小学": {"station": "44030501", "tags": [PointTag.SCHOOL]},
}


@dataclass
class City:
    ctx: RegistryContext
    admin: Scope
    units: dict[str, int] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)


async def build_city(db: Database, clock: FakeClock, *, with_points: bool = True) -> City:
    ctx = RegistryContext(
        db=db, bus=MemoryBus(), clock=clock, sealer=SecretBox(SecretBox.new_key())
    )
    service = OrgUnitService(ctx)
    admin = Scope(user_id=1, username="admin", role=Role.ADMIN, org_path="/")
    city = City(ctx=ctx, admin=admin)
    for parent, code, kind in UNITS:
        draft = OrgUnitDraft(
            parent_id=city.units[parent] if parent else None,
            name=code,
            kind=kind,
            centre_code=code,
        )
        unit = await (
            service.create(admin, draft) if parent else service.create_root(draft, actor=admin)
        )
        city.units[code] = unit.id
        if parent is None:
            city.admin = admin = Scope(
                user_id=1, username="admin", role=Role.ADMIN, org_path=unit.path
            )
    if not with_points:
        return city
    for name, spec in DRAFTS.items():
        fields = {"lat": 22.5, "lon": 114.0, **spec, "name": name}
        fields["org_unit_id"] = city.units[fields.pop("station")]
        point = await PointService(ctx).create(admin, PointDraft.model_validate(fields))
        city.points[name] = point.id
    devices = DeviceService(ctx)
    for name, point_id in city.points.items():
        await devices.create(
            admin,
            DeviceDraft(
                point_id=point_id,
                kind=DeviceKind.CAMERA,
                name=f"{name} 1号",
                host="10.20.30.40",
                port=554,
                stream_url=STREAM,
                username="cam",
                password=SecretStr(PASSWORD),
            ),
        )
    return city


@pytest.fixture
async def city(db: Database, clock: FakeClock) -> City:
    return await build_city(db, clock)


def scoped(city: City, **changes: Any) -> Scope:
    fields = {
        "user_id": 9,
        "username": "other",
        "role": Role.ADMIN,
        "org_path": city.admin.org_path,
    }
    return Scope(**{**fields, **changes})


def comparable(points: list[Point]) -> list[dict[str, Any]]:
    return sorted(
        (p.model_dump(exclude={"id", "org_unit_id", "org_path"}) for p in points),
        key=lambda p: p["name"],
    )


async def test_an_exported_csv_reimports_into_an_empty_store_as_the_same_points(
    city: City, clock: FakeClock, tmp_path: Path
) -> None:
    exported = await PointExporter(city.ctx).csv(city.admin)
    path = tmp_path / "export.csv"
    path.write_text(exported, encoding="utf-8", newline="")
    async with Database(f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        await fresh.migrate()
        other = await build_city(fresh, clock, with_points=False)

        report = await PointImporter(other.ctx).import_file(other.admin, path)

        again = (await PointService(other.ctx).list(other.admin, ALL)).items
    original = (await PointService(city.ctx).list(city.admin, ALL)).items
    assert report.count == len(DRAFTS)
    assert comparable(again) == comparable(original)


async def test_exported_csv_cells_never_start_a_spreadsheet_formula(city: City) -> None:
    exported = await PointExporter(city.ctx).csv(city.admin)

    assert "'=HYPERLINK" in exported
    assert ",'@bank," in exported
    assert ",'-1 层," in exported
    assert ",-33.5,-70.25," in exported  # numbers are not text: they stay as they are


async def test_geojson_carries_devices_but_no_credentials_or_stream_addresses(city: City) -> None:
    collection = await PointExporter(city.ctx).geojson(city.admin)

    assert collection["type"] == "FeatureCollection"
    features = {f["properties"]["name"]: f for f in collection["features"]}
    assert set(features) == set(DRAFTS)
    gate = features["福田口岸"]
    assert gate["geometry"] == {"type": "Point", "coordinates": [114.0, 22.516123456789]}
    assert gate["properties"]["org_unit"] == "44030401"
    assert gate["properties"]["id"] == city.points["福田口岸"]
    [device] = gate["properties"]["devices"]
    assert set(device) == {"id", "gb_id", "kind", "name"}
    assert device["gb_id"].startswith("44030401")
    text = json.dumps(collection, ensure_ascii=False)
    for secret in (PASSWORD, "rtsp://", "10.20.30.40", '"cam"', "username", "stream_url"):
        assert secret not in text


async def test_public_geojson_has_only_signed_points_and_only_their_public_fields(
    city: City,
) -> None:
    collection = await PointExporter(city.ctx).public_geojson(city.admin)

    features = collection["features"]
    assert sorted(f["properties"]["name"] for f in features) == ["招商银行", "福田口岸"]
    for feature in features:
        assert set(feature) == {"type", "geometry", "properties"}
        assert set(feature["properties"]) == {"name", "address", "tags"}
    text = json.dumps(collection, ensure_ascii=False)
    for private in ("招商银行深圳分行", "SZ-1", "44030401", "gb_id", "owner"):
        assert private not in text


async def test_a_partner_exports_only_the_points_shared_with_it(city: City) -> None:
    shared = city.points["招商银行"]
    partner = scoped(city, role=Role.PARTNER, shared_points=frozenset({shared}))
    exporter = PointExporter(city.ctx)

    csv_lines = (await exporter.csv(partner)).splitlines()
    collection = await exporter.geojson(partner)

    assert len(csv_lines) == 2
    assert csv_lines[1].startswith("44030501,'@bank,招商银行,")
    [feature] = collection["features"]
    assert feature["properties"]["id"] == shared
    assert [d["name"] for d in feature["properties"]["devices"]] == ["招商银行 1号"]


async def test_a_branch_exports_only_its_subtree(city: City) -> None:
    unit_path = (await OrgUnitService(city.ctx).get(city.admin, city.units["44030500"])).path
    nanshan = scoped(city, org_path=unit_path)

    collection = await PointExporter(city.ctx).geojson(nanshan)

    assert sorted(f["properties"]["name"] for f in collection["features"]) == [
        "南山小学",
        "招商银行",
    ]


async def test_every_export_is_audited_with_its_format_and_count(city: City, db: Database) -> None:
    exporter = PointExporter(city.ctx)
    await exporter.csv(city.admin)
    await exporter.geojson(city.admin)
    await exporter.public_geojson(city.admin)

    async with db.session() as session:
        records = [r async for r in audit.iterate(session) if r.action == "point.export"]
    assert [(r.detail["format"], r.detail["count"]) for r in records] == [
        ("csv", 4),
        ("geojson", 4),
        ("public_geojson", 2),
    ]
    assert {r.actor for r in records} == {"admin"}


@given(st.text())
def test_unquoting_a_quoted_cell_gives_it_back(text: str) -> None:
    assert unquote_formula(quote_formula(text)) == text
