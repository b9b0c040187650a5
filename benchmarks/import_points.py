"""How fast the registry imports a point spreadsheet (.csv and .xlsx) into an embedded SQLite store.

Run: python benchmarks/import_points.py [--rows 10000]

Each format is imported into a fresh store seeded with the Shenzhen city bureau (44030000), the
Futian branch (44030400) and one of its stations (44030401), as a person would: through
`PointImporter.import_file`, checked row by row, then one bulk INSERT in one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from openpyxl import Workbook

from safecity.bus.memory import MemoryBus
from safecity.core.clock import SystemClock
from safecity.core.scope import Role, Scope
from safecity.org.importer import PointImporter
from safecity.org.journal import RegistryContext
from safecity.org.models import OrgUnitDraft, OrgUnitKind
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox

HEADER: Final = ("org_unit", "code", "name", "address", "lat", "lon", "tags", "public_signage")
STATION: Final = "44030401"  # 福田区 (Futian), a station under its branch 44030400
TAGS: Final = ("traffic", "commercial_street;key_unit", "school", "")


@dataclass(frozen=True, slots=True)
class Timing:
    fmt: str
    rows: int
    seconds: float
    size_bytes: int


def point_rows(count: int) -> list[list[str]]:
    """`count` distinct, valid points spread over central Futian."""
    return [
        [
            STATION,
            f"FT-{n:06d}",
            f"福田监控点 {n}",
            f"深圳市福田区深南大道 {n} 号",
            f"{22.52 + (n % 1000) * 4e-5:.6f}",
            f"{114.02 + (n // 1000) * 4e-5:.6f}",
            TAGS[n % len(TAGS)],
            "yes" if n % 7 == 0 else "no",
        ]
        for n in range(1, count + 1)
    ]


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("points")
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append([int(row[0]), row[1], row[2], row[3], float(row[4]), float(row[5]), *row[6:]])
    book.save(path)


async def seeded_store(workdir: Path, name: str) -> tuple[Database, RegistryContext, Scope]:
    db = Database(f"sqlite:///{workdir / name}")
    await db.migrate()
    ctx = RegistryContext(
        db=db, bus=MemoryBus(), clock=SystemClock(), sealer=SecretBox(SecretBox.new_key())
    )
    units = OrgUnitService(ctx)
    seed = Scope(user_id=0, username="bench", role=Role.ADMIN, org_path="/")
    bureau = await units.create_root(
        OrgUnitDraft(name="深圳市公安局", kind=OrgUnitKind.BUREAU, centre_code="44030000"),
        actor=seed,
    )
    admin = Scope(user_id=0, username="bench", role=Role.ADMIN, org_path=bureau.path)
    branch = await units.create(
        admin,
        OrgUnitDraft(
            parent_id=bureau.id, name="福田分局", kind=OrgUnitKind.BRANCH, centre_code="44030400"
        ),
    )
    await units.create(
        admin,
        OrgUnitDraft(
            parent_id=branch.id, name="福田派出所", kind=OrgUnitKind.STATION, centre_code=STATION
        ),
    )
    return db, ctx, admin


async def time_import(workdir: Path, fmt: str, rows: list[list[str]]) -> Timing:
    writers: dict[str, Callable[[Path, list[list[str]]], None]] = {
        "csv": write_csv,
        "xlsx": write_xlsx,
    }
    path = workdir / f"points.{fmt}"
    writers[fmt](path, rows)
    db, ctx, admin = await seeded_store(workdir, f"{fmt}.db")
    async with db:
        started = time.perf_counter()
        report = await PointImporter(ctx).import_file(admin, path)
        seconds = time.perf_counter() - started
    if report.count != len(rows):
        raise SystemExit(f"{fmt}: imported {report.count} of {len(rows)} rows")
    return Timing(fmt=fmt, rows=report.count, seconds=seconds, size_bytes=path.stat().st_size)


def print_table(timings: list[Timing]) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, SQLite store (WAL)"
    )
    print(f"{'format':<8}{'rows':>8}{'file KiB':>10}{'seconds':>10}{'rows/s':>10}")
    for t in timings:
        print(
            f"{t.fmt:<8}{t.rows:>8}{t.size_bytes / 1024:>10.0f}{t.seconds:>10.2f}"
            f"{t.rows / t.seconds:>10.0f}"
        )


async def main(count: int) -> None:
    rows = point_rows(count)
    with tempfile.TemporaryDirectory(prefix="safecity-bench-") as tmp:
        timings = [await time_import(Path(tmp), fmt, rows) for fmt in ("csv", "xlsx")]
    print_table(timings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000, help="points in the file")
    asyncio.run(main(parser.parse_args().rows))
