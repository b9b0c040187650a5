"""How many inbox signals per second the alarm processor turns into alarms on embedded SQLite.

Run: python benchmarks/alarm_processor.py [--signals 20000] [--accounts 500] [--batch 500]

A fresh store gets one station, a point with a camera, and `--accounts` accounts with four zones
each. The inbox is filled as the receiver would (one row per message) with a realistic mix: per
account a burglary and its restore, an AC-power trouble and its restore (auto-resolved), an
opening and a closing, a periodic test, NULL polls, and SIA messages with two signals. The clock
starts when `process_pending()` is called and stops when the inbox is drained, events published
to an in-memory bus with one subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sqlalchemy import func, insert, select

from safecity.alarms.context import AlarmContext
from safecity.alarms.processor import AlarmProcessor
from safecity.bus.memory import MemoryBus
from safecity.core.clock import SystemClock
from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow, AlarmSignalRow, AlarmZoneRow
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox
from safecity.store.tables import DeviceRow, OrgUnitRow, PointRow

# (token, payload) per message, cycled per account.
MIX: Final = (
    ("ADM-CID", "1130 01 001"),
    ("NULL", ""),
    ("ADM-CID", "1301 00 000"),
    ("SIA-DCS", "Nri1/BA002/BA003"),
    ("ADM-CID", "3130 01 001"),
    ("ADM-CID", "3301 00 000"),
    ("ADM-CID", "1401 01 007"),
    ("ADM-CID", "1602 00 000"),
    ("ADM-CID", "3401 01 007"),
    ("NULL", ""),
)


async def seed(db: Database, accounts: int, signals: int) -> None:
    now = datetime.now(UTC)
    async with db.write() as session:
        unit = OrgUnitRow(
            parent_id=None,
            path="/1/",
            level=1,
            kind="station",
            name="福田",
            centre_code="44030401",
            created_at=now,
            updated_at=now,
        )
        session.add(unit)
        await session.flush()
        unit.path = f"/{unit.id}/"
        point = PointRow(
            org_unit_id=unit.id,
            org_path=unit.path,
            name="site",
            lat=22.54,
            lon=114.06,
            tags=[],
            ownership="public",
            created_at=now,
            updated_at=now,
        )
        session.add(point)
        await session.flush()
        session.add(
            DeviceRow(
                point_id=point.id,
                org_path=unit.path,
                gb_id="44030401001320000001",
                kind="camera",
                name="cam",
                created_at=now,
                updated_at=now,
            )
        )
        rows = [
            AlarmAccountRow(
                account=f"{0x1000 + n:X}",
                name=f"shop {n}",
                org_unit_id=unit.id,
                org_path=unit.path,
                point_id=point.id,
                require_encryption=False,
                grace_s=0,
                schedule={},
                contacts=[],
                action_plans={},
                enabled=True,
                created_at=now,
                updated_at=now,
            )
            for n in range(accounts)
        ]
        session.add_all(rows)
        await session.flush()
        session.add_all(
            AlarmZoneRow(
                account_id=row.id, number=z, name=f"zone {z}", detector="pir", camera_ids=[]
            )
            for row in rows
            for z in range(1, 5)
        )
        values = []
        for n in range(signals):  # every account walks through MIX in order
            token, data = MIX[(n // accounts) % len(MIX)]
            values.append(
                {
                    "account": rows[n % accounts].account,
                    "sequence": n % 10000,
                    "token": token,
                    "sent_at": now,
                    "data": data,
                    "dedupe": f"m{n}",
                    "received_at": now + timedelta(milliseconds=n),
                    "transport": "tcp",
                    "peer": "10.0.0.1:5000",
                }
            )
        for start in range(0, len(values), 5000):
            await session.execute(insert(AlarmSignalRow), values[start : start + 5000])


async def measure(signals: int, accounts: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Database(f"sqlite:///{Path(folder) / 'bench.db'}") as db:
            await db.migrate()
            await seed(db, accounts, signals)
            bus = MemoryBus()
            subscription = bus.subscribe("alarms.>", buffer=1_000_000)
            ctx = AlarmContext(
                db=db, bus=bus, clock=SystemClock(), sealer=SecretBox(SecretBox.new_key())
            )
            processor = AlarmProcessor(ctx, batch_size=batch)
            started = time.perf_counter()
            done = await processor.process_pending()
            elapsed = time.perf_counter() - started
            async with db.session() as session:
                alarms = await session.scalar(select(func.count()).select_from(AlarmRow))
            await subscription.close()
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print("| signals | accounts | batch | alarms | seconds | signals/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {done} | {accounts} | {batch} | {alarms} | {elapsed:.2f} | {done / elapsed:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(measure(args.signals, args.accounts, args.batch))


if __name__ == "__main__":
    main()
