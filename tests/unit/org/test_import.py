"""Bulk import of points from .csv and .xlsx: all rows or none, every problem named by line."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook

from safecity.bus.memory import MemoryBus
from safecity.core.errors import PermissionDenied
from safecity.core.events import PointsImported
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope
from safecity.org.import_rows import MAX_PROBLEMS
from safecity.org.importer import ImportRejected, PointImporter, RowProblem
from safecity.org.journal import RegistryContext
from safecity.org.models import OrgUnitDraft, OrgUnitKind, Ownership, Point, PointDraft, PointTag
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.repositories import audit
from safecity.store.secretbox import SecretBox
from safecity.testing.clock import FakeClock

HEADER = "org_unit,code,name,address,lat,lon,tags,ownership,owner_name,owner_kind,public_signage"
ALL = PageRequest(limit=10_000)


@dataclass
class City:
    ctx: RegistryContext
    bus: MemoryBus
    admin: Scope  # the bureau's administrator
    futian: Scope  # an administrator of the Futian branch only
    tmp: Path

    def write(self, name: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.tmp / name
        path.write_bytes(text.encode(encoding))
        return path

    async def points(self) -> list[Point]:
        return (await PointService(self.ctx).list(self.admin, ALL)).items


@pytest.fixture
async def city(db: Database, clock: FakeClock, tmp_path: Path) -> City:
    bus = MemoryBus()
    ctx = RegistryContext(db=db, bus=bus, clock=clock, sealer=SecretBox(SecretBox.new_key()))
    units = OrgUnitService(ctx)
    seed = Scope(user_id=1, username="admin", role=Role.ADMIN, org_path="/")
    bureau = await units.create_root(
        OrgUnitDraft(name="深圳市公安局", kind=OrgUnitKind.BUREAU, centre_code="44030000"),
        actor=seed,
    )
    admin = Scope(user_id=1, username="admin", role=Role.ADMIN, org_path=bureau.path)
    paths = {}
    for parent_code, code, kind in (
        ("44030000", "44030400", OrgUnitKind.BRANCH),  # Futian
        ("44030400", "44030401", OrgUnitKind.STATION),
        ("44030000", "44030500", OrgUnitKind.BRANCH),  # Nanshan
        ("44030500", "44030501", OrgUnitKind.STATION),
    ):
        parent = await units.find_by_centre(admin, parent_code)
        unit = await units.create(
            admin, OrgUnitDraft(parent_id=parent.id, name=code, kind=kind, centre_code=code)
        )
        paths[code] = unit.path
    futian = Scope(user_id=2, username="futian", role=Role.ADMIN, org_path=paths["44030400"])
    return City(ctx=ctx, bus=bus, admin=admin, futian=futian, tmp=tmp_path)


def good_csv(rows: int, *, bad_line: int | None = None) -> str:
    lines = [HEADER]
    for line in range(2, rows + 2):
        lat = "abc" if line == bad_line else f"{22.5 + line * 1e-6:.6f}"
        lines.append(
            f"44030401,CAM-{line:05d},路口 {line},福田区深南大道 {line} 号,{lat},114.05,,,,,"
        )
    return "\n".join(lines) + "\n"


async def rejected(city: City, path: Path, scope: Scope | None = None) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        await PointImporter(city.ctx).import_file(scope or city.admin, path)
    assert await city.points() == []
    return caught.value


async def rejected_keeping(city: City, path: Path) -> ImportRejected:
    before = await city.points()
    with pytest.raises(ImportRejected) as caught:
        await PointImporter(city.ctx).import_file(city.admin, path)
    assert await city.points() == before
    return caught.value


async def test_a_good_csv_imports_every_row_with_one_audit_record_and_one_event(
    city: City, db: Database
) -> None:
    text = (
        HEADER + "\n"
        "44030401,SZ-1,福田口岸,福田区福强路,22.516,114.067,checkpoint; traffic,,,,yes\n"
        '44030401,,"招商银行, 深南支行",,22.54,114.06,bank,third_party,招商银行,bank,0\n'
        "44030501,SZ-3,南山小学,,22.53,113.93,,In_House,,,\n"
    )
    path = city.write("points.csv", text)
    events = city.bus.subscribe("org.import.>")
    seen: list[tuple[int, int]] = []

    report = await PointImporter(city.ctx).import_file(
        city.admin, path, progress=lambda done, total: seen.append((done, total))
    )

    assert (report.count, report.file) == (3, "points.csv")
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    points = {p.name: p for p in await city.points()}
    assert points["福田口岸"].tags == [PointTag.CHECKPOINT, PointTag.TRAFFIC]
    assert points["福田口岸"].public_signage is True
    bank = points["招商银行, 深南支行"]
    assert (bank.code, bank.ownership, bank.owner_name) == (None, Ownership.THIRD_PARTY, "招商银行")
    assert points["南山小学"].org_path.endswith("/")
    assert seen[-1] == (6, 6)
    async with db.session() as session:
        records = [row async for row in audit.iterate(session)]
    imports = [r for r in records if r.action == "point.import"]
    assert len(imports) == 1
    assert imports[0].target == "file:points.csv"
    assert imports[0].detail["count"] == 3
    assert imports[0].detail["sha256"] == report.sha256
    delivery = await asyncio.wait_for(anext(aiter(events)), 1)
    assert isinstance(delivery.event, PointsImported)
    assert delivery.event.count == 3
    assert delivery.event.org_path == city.admin.org_path  # the common ancestor of both stations


async def test_a_good_xlsx_with_typed_cells_imports(city: City) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Org_Unit", "Name", "LAT", "lon", "tags", "public_signage", "code"])
    sheet.append([44030401, "市民中心", 22.5431, 114.0579, "scenic_area", True, "SZ-100"])
    sheet.append([])  # a blank row in between is skipped
    sheet.append(["44030401", "莲花山", 22.554, 114.061, None, None, None])
    path = city.tmp / "points.xlsx"
    book.save(path)

    report = await PointImporter(city.ctx).import_file(city.admin, path)

    assert report.count == 2
    points = {p.name: p for p in await city.points()}
    assert points["市民中心"].code == "SZ-100"
    assert points["市民中心"].public_signage is True
    assert (points["莲花山"].lat, points["莲花山"].lon) == (22.554, 114.061)


async def test_a_bad_xlsx_row_is_named_by_its_sheet_row(city: City) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["org_unit", "name", "lat", "lon"], [44030401, "a", 22.5, 114.0], [], []):
        sheet.append(row)
    sheet.append([44030401, "b", 22.5, 200.0])
    path = city.tmp / "sheet.xlsx"
    book.save(path)

    problem = await rejected(city, path)

    assert [(p.line, p.field) for p in problem.problems] == [(5, "lon")]


async def test_one_bad_row_in_ten_thousand_imports_nothing_and_names_its_line(city: City) -> None:
    path = city.write("big.csv", good_csv(10_000, bad_line=5_001))

    problem = await rejected(city, path)

    assert len(problem.problems) == 1
    assert (problem.problems[0].line, problem.problems[0].field) == (5_001, "lat")
    assert str(problem.problems[0]).startswith("big.csv:5001: lat: 'abc': ")


async def test_ten_thousand_good_rows_import_in_one_go(city: City) -> None:
    path = city.write("big.csv", good_csv(10_000))

    report = await PointImporter(city.ctx).import_file(city.admin, path)

    assert report.count == 10_000
    assert (await PointService(city.ctx).list(city.admin, PageRequest(limit=1))).total == 10_000


async def test_every_problem_in_the_file_is_reported(city: City) -> None:
    text = (
        HEADER + "\n"
        "44030401,,,,22.5,114.0,,,,,\n"  # 2: no name
        "44030401,,a,,95,114.0,,,,,\n"  # 3: latitude out of range
        "44030401,,b,,22.5,114.0,school;zoo,,,,\n"  # 4: unknown tag
        "44030401,,c,,22.5,114.0,,,,,maybe\n"  # 5: not a yes/no
        '44030401,,"d\nstill d",,22.5,114.0,,third_party,,,\n'  # 6-7: owner missing
        "44030401,,e,,north,114.0,,,,,\n"  # 8: a record after a two-line one
        "44030401,,f,,22.5,114.0,,,,alien,\n"  # 9: unknown owner kind
    )
    problem = await rejected(city, city.write("bad.csv", text))

    places = [(p.line, p.field) for p in problem.problems]
    assert places == [
        (2, "name"),
        (3, "lat"),
        (4, "tags"),
        (5, "public_signage"),
        (6, "ownership"),
        (8, "lat"),
        (9, "owner_kind"),
    ]
    assert "third-party point needs owner_name and owner_kind" in problem.problems[4].reason
    assert "'zoo'" in problem.problems[2].reason
    assert "bad.csv:5: public_signage: 'maybe' is not yes/no" in str(problem)


async def test_the_problem_list_is_capped_and_counts_the_rest(city: City) -> None:
    bad_lines = set(range(2, MAX_PROBLEMS + 502))
    lines = [HEADER] + [f"44030401,,p{n},,x,114,,,,," for n in sorted(bad_lines)]
    problem = await rejected(city, city.write("bad.csv", "\n".join(lines)))

    assert len(problem.problems) == MAX_PROBLEMS
    assert problem.omitted == 500
    assert str(problem).endswith("... and 500 more problems")


async def test_unknown_and_out_of_scope_org_units_read_the_same(city: City) -> None:
    text = HEADER + "\n44030499,,a,,22.5,114,,,,,\n44030501,,b,,22.5,114,,,,,\n"

    problem = await rejected(city, city.write("units.csv", text), city.futian)

    unknown, foreign = problem.problems
    assert (unknown.line, unknown.field, foreign.line, foreign.field) == (
        2,
        "org_unit",
        3,
        "org_unit",
    )
    assert unknown.reason.replace("44030499", "X") == foreign.reason.replace("44030501", "X")


async def test_codes_must_be_unique_within_the_file_and_against_the_store(city: City) -> None:
    unit = await OrgUnitService(city.ctx).find_by_centre(city.admin, "44030401")
    await PointService(city.ctx).create(
        city.admin, PointDraft(org_unit_id=unit.id, code="SZ-1", name="old", lat=22.5, lon=114)
    )
    text = (
        HEADER + "\n"
        "44030401,SZ-1,a,,22.5,114,,,,,\n"
        "44030401,SZ-2,b,,22.5,114,,,,,\n"
        "44030401,SZ-2,c,,22.5,114,,,,,\n"
    )
    problem = await rejected_keeping(city, city.write("codes.csv", text))

    assert [str(p) for p in problem.problems] == [
        "codes.csv:2: code: code 'SZ-1' is already used by another point",
        "codes.csv:4: code: code 'SZ-2' is already used on line 3",
    ]


async def test_unknown_and_repeated_columns_are_rejected_by_name(city: City) -> None:
    text = "org_unit,name,lat,lon,Camera_Brand,NAME\n44030401,a,22.5,114,Hikvision,b\n"

    problem = await rejected(city, city.write("cols.csv", text))

    unknown, twice = problem.problems
    assert (unknown.line, unknown.field) == (1, "Camera_Brand")
    assert unknown.reason.startswith("unknown column (expected org_unit, code, name,")
    assert str(twice) == "cols.csv:1: NAME: column appears twice"


async def test_a_missing_required_column_is_rejected(city: City) -> None:
    problem = await rejected(city, city.write("cols.csv", "org_unit,name,lat\n44030401,a,1\n"))

    assert [str(p) for p in problem.problems] == ["cols.csv:1: lon: required column is missing"]


async def test_a_file_with_only_a_header_is_rejected(city: City) -> None:
    problem = await rejected(city, city.write("empty.csv", HEADER + "\n\n"))

    assert [str(p) for p in problem.problems] == [
        "empty.csv:1: file: no data rows below the header"
    ]


async def test_a_gbk_encoded_csv_imports(city: City) -> None:
    text = HEADER + "\n44030401,,华强北步行街,福田区华强北路,22.545,114.085,commercial_street,,,,\n"
    path = city.write("gbk.csv", text, encoding="gbk")

    await PointImporter(city.ctx).import_file(city.admin, path)

    [point] = await city.points()
    assert (point.name, point.address) == ("华强北步行街", "福田区华强北路")


async def test_a_utf8_csv_with_a_byte_order_mark_imports(city: City) -> None:
    path = city.write("bom.csv", HEADER + "\n44030401,,a,,22.5,114,,,,,\n", encoding="utf-8-sig")

    assert (await PointImporter(city.ctx).import_file(city.admin, path)).count == 1


async def test_text_in_no_known_encoding_is_rejected_with_its_line(city: City) -> None:
    path = city.tmp / "binary.csv"
    path.write_bytes(HEADER.encode() + b"\n44030401,,\xff\xff\xff,,22.5,114,,,,,\n")

    problem = await rejected(city, path)

    assert [(p.line, p.field) for p in problem.problems] == [(2, "file")]


async def test_other_file_types_are_rejected(city: City) -> None:
    problem = await rejected(city, city.write("points.json", "[]"))

    assert "use .csv or .xlsx" in problem.problems[0].reason


async def test_a_viewer_may_not_import(city: City) -> None:
    viewer = Scope(user_id=3, username="v", role=Role.VIEWER, org_path=city.admin.org_path)
    path = city.write("points.csv", good_csv(1))

    with pytest.raises(PermissionDenied):
        await PointImporter(city.ctx).import_file(viewer, path)


def test_a_problem_reads_like_a_compiler_message() -> None:
    problem = RowProblem(file="a.csv", line=7, field="lat", reason="too far north")

    assert str(problem) == "a.csv:7: lat: too far north"
