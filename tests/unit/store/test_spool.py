"""The SQLite inbox spool: ids continue the store's, the processor copies rows once (skipping
retransmissions already copied or spooled twice), pruning deletes only copied rows, a chunk at a
time, and a spool from before (with a unique index) is rebuilt without losing rows or ids."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safecity.store.alarm_tables import AlarmSignalRow
from safecity.store.db import Database, sqlite_pragmas
from safecity.store.repositories.inbox import InboxRow, SpoolWriter
from safecity.store.repositories.spool import (
    SCHEMA,
    open_spool,
    pending_after,
    processed_up_to,
    prune,
    spool_path,
    take_signals,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(f"sqlite:///{tmp_path / 'arc.db'}") as db:
        await db.migrate()
        yield db


def _row(n: int, dedupe: str | None = None) -> InboxRow:
    return InboxRow("1234", n, "ADM-CID", NOW, "1130 01 001", dedupe or f"d{n}", NOW, "tcp", "p")


async def _count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(AlarmSignalRow)) or 0)


def test_the_spool_sits_beside_the_store() -> None:
    assert spool_path("/data/safecity.db") == "/data/safecity.inbox.db"
    assert spool_path("/data/arc") == "/data/arc.inbox.db"


async def test_rows_are_copied_once_with_their_ids_and_duplicates_are_passed(
    store: Database,
) -> None:
    assert store.sqlite_path is not None
    async with store.write() as session:  # a row from before the spool: ids go on after it
        session.add(AlarmSignalRow(**_row(0, "old")._asdict()))
    spool = spool_path(store.sqlite_path)
    open_spool(spool, store.sqlite_path, sqlite_pragmas)
    writer = SpoolWriter(spool, store.sqlite_path, sqlite_pragmas)
    await writer.insert([_row(1), _row(2), _row(3, "old")])  # 3: the old row, sent again
    await writer.aclose()
    assert [row.id for row in pending_after(spool, 0, 10)] == [2, 3, 4]

    async with store.write() as session:
        legacy = await take_signals(session, spool, 0, 10)
    assert [s.id for s in legacy.signals] == [1]  # the store's own unprocessed row first

    async with store.write() as session:
        taken = await take_signals(session, spool, 1, 10)
    assert [s.sequence for s in taken.signals] == [1, 2]
    assert (taken.last_id, taken.consumed) == (4, 3)
    assert taken.signals[0].received_at.replace(tzinfo=UTC) == NOW
    assert await _count(store) == 3


async def test_pruning_deletes_only_processed_rows_in_chunks(store: Database) -> None:
    assert store.sqlite_path is not None
    spool = spool_path(store.sqlite_path)
    open_spool(spool, store.sqlite_path, sqlite_pragmas)
    writer = SpoolWriter(spool, store.sqlite_path, sqlite_pragmas)
    await writer.insert([_row(n) for n in range(1, 11)])
    await writer.aclose()
    assert processed_up_to(store.sqlite_path) == 0
    connection = sqlite3.connect(spool, isolation_level=None)
    assert prune(connection, 7, chunk=3) == 3
    assert prune(connection, 7, chunk=3) == 3
    assert prune(connection, 7, chunk=3) == 1
    assert prune(connection, 7, chunk=3) == 0
    connection.close()
    assert [row.id for row in pending_after(spool, 0, 20)] == [8, 9, 10]


async def test_a_retransmission_spooled_twice_is_copied_once(store: Database) -> None:
    assert store.sqlite_path is not None
    spool = spool_path(store.sqlite_path)
    open_spool(spool, store.sqlite_path, sqlite_pragmas)
    writer = SpoolWriter(spool, store.sqlite_path, sqlite_pragmas)
    await writer.insert([_row(1), _row(2), _row(2)])  # sent again before the first ACK landed
    await writer.insert([_row(1)])  # and again in a later commit
    await writer.aclose()
    assert [row.id for row in pending_after(spool, 0, 10)] == [1, 2, 3, 4]

    async with store.write() as session:
        first = await take_signals(session, spool, 0, 3, legacy=False)
    assert [s.sequence for s in first.signals] == [1, 2]
    assert (first.last_id, first.consumed) == (3, 3)
    async with store.write() as session:
        second = await take_signals(session, spool, 3, 3, legacy=False)
    assert (second.signals, second.last_id) == ([], 4)
    assert await _count(store) == 2


def _indexes(spool: str) -> list[tuple[str, int]]:
    with sqlite3.connect(spool) as connection:
        return [(row[1], row[2]) for row in connection.execute("PRAGMA index_list(inbox)")]


async def test_an_older_spool_loses_its_unique_index_and_keeps_rows_and_ids(
    store: Database,
) -> None:
    assert store.sqlite_path is not None
    spool = spool_path(store.sqlite_path)
    old = sqlite3.connect(spool, isolation_level=None)
    old.execute(SCHEMA.replace("dedupe TEXT NOT NULL,", "dedupe TEXT NOT NULL UNIQUE,"))
    old.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('inbox', 40)")
    for n in (7, 8):
        old.execute(
            "INSERT INTO inbox VALUES (?, '1234', ?, 'ADM-CID', NULL, 'x', ?, ?, 'tcp', 'p')",
            (n, n, f"d{n}", "2026-12-01 12:00:00.000000"),
        )
    old.close()
    assert any(unique for _, unique in _indexes(spool))

    open_spool(spool, store.sqlite_path, sqlite_pragmas)
    assert not any(unique for _, unique in _indexes(spool))
    assert [(row.id, row.dedupe) for row in pending_after(spool, 0, 10)] == [(7, "d7"), (8, "d8")]
    writer = SpoolWriter(spool, store.sqlite_path, sqlite_pragmas)
    await writer.insert([_row(8), _row(9)])  # d8 again: no longer refused by the spool
    await writer.aclose()
    # 40 was handed out before (its row since pruned): the next id is past it
    assert [row.id for row in pending_after(spool, 8, 10)] == [41, 42]
    open_spool(spool, store.sqlite_path, sqlite_pragmas)  # opening again changes nothing
    assert [row.id for row in pending_after(spool, 0, 10)] == [7, 8, 41, 42]
