"""Bulk import of alarm accounts from .csv and .xlsx: all rows or none, every bad row named."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from safecity.alarms.account_import import AccountImporter, ImportRejected
from safecity.alarms.account_models import ContactRole, DetectorType, KeyNotation
from safecity.core.errors import PermissionDenied
from safecity.core.events import AlarmAccountChanged
from safecity.core.paging import PageRequest
from safecity.core.scope import Role
from safecity.store.alarm_tables import AlarmAccountRow, AlarmZoneRow

from .conftest import ROOT, City

HEADER = (
    "account,name,org_unit,point_code,key_hex,key_text,require_encryption,"
    "supervision_s,grace_s,zones,contacts\n"
)
KEY_HEX = "000102030405060708090A0B0C0D0E0F"
GOOD = (
    HEADER
    + f"a00001,Bank of China Futian,44030401,FT-001,{KEY_HEX},,yes,300,60,"
    + '"1:Front door:door_contact;2:Vault:vibration","Li Wei:13800000001:keyholder;'
    + 'Guard room:0755-8888:guard"\n'
    + "A00002,Corner shop,44030402,,,sixteen-chars-ok,no,,,3:Hall PIR:PIR,\n"
    + "A00003,Flat 12B,44030401,,,,,,,,\n"
)


def write(tmp_path: Path, text: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def count(city: City) -> tuple[int, int]:
    async with city.db.session() as session:
        accounts = await session.scalar(select(func.count()).select_from(AlarmAccountRow))
        zones = await session.scalar(select(func.count()).select_from(AlarmZoneRow))
    return int(accounts or 0), int(zones or 0)


async def rejected(city: City, path: Path) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        await AccountImporter(city.ctx).import_file(ROOT, path)
    assert await count(city) == (0, 0)
    return caught.value


async def test_a_good_file_imports_every_account_with_zones_contacts_and_keys(
    city: City, tmp_path: Path
) -> None:
    await city.published.drain()

    report = await AccountImporter(city.ctx).import_file(ROOT, write(tmp_path, GOOD))

    assert report.count == 3
    page = await city.accounts.list(ROOT, PageRequest(limit=10))
    bank, shop, flat = page.items
    assert (bank.account, bank.point_id, bank.org_path) == (
        "A00001",
        city.civic_centre.id,
        city.futian_1.path,
    )
    assert (bank.key_notation, bank.require_encryption, bank.supervision_s, bank.grace_s) == (
        KeyNotation.HEX,
        True,
        300,
        60,
    )
    assert [(z.number, z.name, z.detector) for z in bank.zones] == [
        (1, "Front door", DetectorType.DOOR_CONTACT),
        (2, "Vault", DetectorType.VIBRATION),
    ]
    assert [(c.name, c.phone, c.role, c.order) for c in bank.contacts] == [
        ("Li Wei", "13800000001", ContactRole.KEYHOLDER, 1),
        ("Guard room", "0755-8888", ContactRole.GUARD, 2),
    ]
    assert (shop.key_notation, [z.detector for z in shop.zones]) == (
        KeyNotation.TEXT,
        [DetectorType.PIR],
    )
    assert (flat.has_key, flat.zones, flat.supervision_s) == (False, [], None)
    keys = await city.accounts.receiver_keys()
    assert keys["A00001"].key is not None
    assert keys["A00001"].key.raw == bytes.fromhex(KEY_HEX)
    audit = (await city.audit())[-1]
    assert (audit.action, audit.target, audit.org_path) == (
        "alarm_account.import",
        "file:accounts.csv",
        city.futian.path,
    )
    assert audit.detail["count"] == 3
    assert audit.detail["sha256"] == report.sha256
    events = await city.published.drain()
    assert [e.account for e in events if isinstance(e, AlarmAccountChanged)] == [
        "A00001",
        "A00002",
        "A00003",
    ]


async def test_one_bad_row_imports_nothing_and_every_problem_is_named_by_line(
    city: City, tmp_path: Path
) -> None:
    text = (
        GOOD
        + "A00004,Bad zones,44030401,,,,,,,1:Door,\n"  # line 5
        + "A00001,Twice,44030401,,,,,,,,\n"  # line 6
        + "A00005,Short key,44030401,,ABCD,,,,,,\n"  # line 7
        + "A00006,Lost,99999999,,,,,,,,\n"  # line 8
        + "A00007,Far point,44030401,LH-001,,,,,,,\n"  # line 9
        + "zz,Bad number,44030401,,,,maybe,10,,,Bob:123:chef\n"  # line 10
    )

    problem = await rejected(city, write(tmp_path, text))

    found = [(p.line, p.field) for p in problem.problems]
    assert found == [
        (5, "zones"),
        (6, "account"),
        (7, "key_hex"),
        (8, "org_unit"),
        (9, "point_code"),
        (10, "require_encryption"),
        (10, "account"),
        (10, "supervision_s"),
        (10, "contacts"),
    ]
    assert str(problem.problems[0]).startswith("accounts.csv:5: zones: ")
    assert "ABCD" not in str(problem)  # keys are never echoed


async def test_a_header_with_unknown_or_missing_columns_is_refused(
    city: City, tmp_path: Path
) -> None:
    problem = await rejected(city, write(tmp_path, "account,colour\nA01,red\n"))

    assert [(p.line, p.field) for p in problem.problems] == [
        (1, "colour"),
        (1, "name"),
        (1, "org_unit"),
    ]


async def test_an_account_already_stored_rejects_the_file(city: City, tmp_path: Path) -> None:
    await AccountImporter(city.ctx).import_file(ROOT, write(tmp_path, GOOD))
    again = write(tmp_path, HEADER + "a00003,Again,44030401,,,,,,,,\n", "again.csv")

    with pytest.raises(ImportRejected) as caught:
        await AccountImporter(city.ctx).import_file(ROOT, again)

    assert [str(p) for p in caught.value.problems] == [
        "again.csv:2: account: account A00003 already exists"
    ]
    assert await count(city) == (3, 3)


async def test_units_and_points_outside_the_callers_scope_read_as_unknown(
    city: City, tmp_path: Path
) -> None:
    station = city.scope(city.futian_1)
    text = HEADER + "B001,x,44030402,,,,,,,,\nB002,y,44030401,FT-002,,,,,,,\n"

    with pytest.raises(ImportRejected) as caught:
        await AccountImporter(city.ctx).import_file(station, write(tmp_path, text))

    assert [(p.line, p.field) for p in caught.value.problems] == [
        (2, "org_unit"),
        (3, "point_code"),
    ]
    with pytest.raises(PermissionDenied):
        await AccountImporter(city.ctx).import_file(
            city.scope(city.futian_1, Role.VIEWER), write(tmp_path, GOOD)
        )


async def test_a_good_xlsx_with_typed_cells_imports(city: City, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Account", "Name", "org_unit", "supervision_s", "zones"])
    sheet.append([123456, "Pharmacy", 44030401, 600, "1:Door:door_contact"])
    sheet.append([])
    sheet.append(["C0FFEE", "Cafe", "44030402", None, None])
    path = tmp_path / "accounts.xlsx"
    book.save(path)

    report = await AccountImporter(city.ctx).import_file(ROOT, path)

    assert report.count == 2
    assert await count(city) == (2, 1)


async def test_an_unreadable_or_empty_file_is_refused(city: City, tmp_path: Path) -> None:
    problem = await rejected(city, write(tmp_path, "x", "accounts.txt"))
    assert problem.problems[0].field == "file"
    problem = await rejected(city, write(tmp_path, HEADER))
    assert str(problem.problems[0]) == "accounts.csv:1: file: no data rows below the header"
