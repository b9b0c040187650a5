"""The alarm inbox spool: on SQLite, received DC-09 messages are committed to a file of their own.

The receiver ACKs a panel only after its message is committed, thousands of times a second; the
alarm processor, operators and the recorder index write the main store meanwhile. SQLite lets
one writer at a time into a file, so with one file every ACK could wait for whatever transaction
holds the lock. The spool (`<store>.inbox<suffix>` beside the store, table `inbox`) is written
by the intake alone, so its group commits wait for nobody, and a receiver in a process of its
own (`receiver.own_process`) shares no lock with the main process at all.

Its ids continue the store's `alarm_signals` ids: at opening, the spool's sequence is raised past
the store's highest id, and the alarm processor copies each spooled row into `alarm_signals`
with its id, in the same transaction as the alarms it makes of it and its cursor
(`alarms.processed_signal_id`). A row whose de-duplication key is already in `alarm_signals` (a
retransmission that arrived after its first copy left the spool) is not copied and makes no
alarm. Rows at or below the cursor are deleted from the spool now and then (`SpoolWriter`).

The spool has no unique index on the de-duplication key: a retransmission is spooled again and
left out by that copy, which needs the store's unique key anyway (a retransmission may arrive
after its first copy was pruned). A unique index over the random keys made every pruning delete
touch as many index pages as rows: with a backlog of 100,000 rows, deleting 2,000 took 18-35 ms
in the intake's only writer thread, and every ACK due meanwhile waited behind it. An older
spool that has the index is rebuilt without it when it is opened.

The schema is made here, not by Alembic: the spool is a queue, not part of the data model.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.errors import StoreUnavailable
from safecity.store.alarm_tables import AlarmSignalRow
from safecity.store.repositories import alarms

Pragmas = Callable[[sqlite3.Connection], None]

SCHEMA: Final = """CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    token TEXT NOT NULL,
    sent_at TEXT,
    data TEXT NOT NULL,
    dedupe TEXT NOT NULL,
    received_at TEXT NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT NOT NULL
)"""
TABLE: Final = "inbox"
COLUMNS: Final = "id, account, sequence, token, sent_at, data, dedupe, received_at, transport, peer"
CURSOR_KEY: Final = "alarms.processed_signal_id"
PRUNE_CHUNK: Final = 2000


def spool_path(store_path: str) -> str:
    """`/data/safecity.db` -> `/data/safecity.inbox.db`."""
    path = Path(store_path)
    return str(path.with_name(f"{path.stem}.inbox{path.suffix or '.db'}"))


def _read_only(store_path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)


def open_spool(path: str, store_path: str, pragmas: Pragmas) -> None:
    """Create the spool if needed and raise its id sequence past the store's `alarm_signals`."""
    with closing(_read_only(store_path)) as store:
        (floor,) = store.execute("SELECT coalesce(max(id), 0) FROM alarm_signals").fetchone()
    with closing(sqlite3.connect(path, isolation_level=None)) as spool:
        pragmas(spool)
        spool.execute(SCHEMA)
        spool.execute("BEGIN IMMEDIATE")
        if _has_unique_dedupe(spool):
            _rebuild_without_unique_dedupe(spool)
        row = spool.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (TABLE,)).fetchone()
        if row is None:
            spool.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (TABLE, floor))
        elif int(row[0]) < floor:
            spool.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (floor, TABLE))
        spool.execute("COMMIT")


def _has_unique_dedupe(spool: sqlite3.Connection) -> bool:
    for _, name, unique, *_ in spool.execute(f"PRAGMA index_list({TABLE})").fetchall():
        columns = [info[2] for info in spool.execute(f"PRAGMA index_info('{name}')").fetchall()]
        if unique and columns == ["dedupe"]:
            return True
    return False


def _rebuild_without_unique_dedupe(spool: sqlite3.Connection) -> None:
    """Inside the caller's transaction: the rows, their ids and the id sequence kept (an id
    handed out once must never come again: the processor's cursor may be past it)."""
    (seq,) = spool.execute(
        "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?", (TABLE,)
    ).fetchone()
    spool.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unique")
    spool.execute(SCHEMA)
    spool.execute(f"INSERT INTO {TABLE} SELECT {COLUMNS} FROM {TABLE}_unique")  # noqa: S608
    spool.execute(f"DROP TABLE {TABLE}_unique")
    spool.execute("DELETE FROM sqlite_sequence WHERE name = ?", (TABLE,))
    spool.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (TABLE, seq))


def processed_up_to(store_path: str) -> int:
    """The alarm processor's cursor in the store (0 before its first batch)."""
    with closing(_read_only(store_path)) as store:
        row = store.execute(
            "SELECT value FROM platform_settings WHERE key = ?", (CURSOR_KEY,)
        ).fetchone()
    return int(row[0]) if row else 0


def prune(connection: sqlite3.Connection, up_to: int, chunk: int = PRUNE_CHUNK) -> int:
    """Delete up to `chunk` of the oldest spooled rows the processor has copied (a big backlog
    goes over several calls, so no commit of the intake waits long behind one delete); how
    many went."""
    connection.execute("BEGIN IMMEDIATE")
    deleted = connection.execute(
        "DELETE FROM inbox WHERE id <= min(?, (SELECT min(id) FROM inbox) + ?)",
        (up_to, chunk - 1),
    ).rowcount
    connection.execute("COMMIT")
    return int(deleted)


def pending_after(path: str, after_id: int, limit: int) -> list[AlarmSignalRow]:
    """Spooled rows past `after_id`, oldest first, as transient rows (blocking: run it in a
    thread). None yet when nothing has been received since the spool was introduced."""
    if not Path(path).exists():
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as spool:
        found = spool.execute(
            f"SELECT {COLUMNS} FROM inbox WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608 (constants)
            (after_id, limit),
        ).fetchall()
    return [_row(values) for values in found]


def _stamp(text: str | None) -> datetime | None:
    # SQLAlchemy's SQLite DATETIME text, naive like every datetime it reads from SQLite.
    return datetime.fromisoformat(text) if text is not None else None


def _row(values: Sequence[object]) -> AlarmSignalRow:
    ident, account, sequence, token, sent_at, data, dedupe, received_at, transport, peer = values
    received = _stamp(str(received_at))
    assert received is not None
    return AlarmSignalRow(
        id=int(str(ident)),
        account=str(account),
        sequence=int(str(sequence)),
        token=str(token),
        sent_at=_stamp(None if sent_at is None else str(sent_at)),
        data=str(data),
        dedupe=str(dedupe),
        received_at=received,
        transport=str(transport),
        peer=str(peer),
    )


@dataclass(frozen=True)
class Taken:
    """One batch for the processor: the signals to process, and where its cursor goes (past
    spooled duplicates too); `last_id` None when there was nothing. `legacy`: whether rows may
    still wait in `alarm_signals` itself (pass it to the next call)."""

    signals: list[AlarmSignalRow]
    last_id: int | None
    consumed: int  # rows the cursor moves past, duplicates included
    legacy: bool = True


async def take_signals(
    session: AsyncSession, spool: str | None, after_id: int, limit: int, *, legacy: bool = True
) -> Taken:
    """The next signals past the cursor, inside the processor's transaction. Rows already in
    `alarm_signals` come first (the PostgreSQL inbox; on SQLite, rows from before the spool,
    looked for until none is left: `legacy`); then spooled rows, copied into `alarm_signals`
    here with their ids, in one statement that skips those whose de-duplication key is there."""
    if legacy or spool is None:
        stored = list(await alarms.signals_after(session, after_id, limit))
        if stored or spool is None:
            return Taken(stored, stored[-1].id if stored else None, len(stored))
    try:
        spooled = await asyncio.to_thread(pending_after, spool, after_id, limit)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"alarm spool did not answer: {exc}") from exc
    if not spooled:
        return Taken([], None, 0, legacy=False)
    copy = (
        sqlite_insert(AlarmSignalRow)
        .on_conflict_do_nothing(index_elements=[AlarmSignalRow.dedupe])
        .returning(AlarmSignalRow.id)
    )
    copied = set(
        await session.scalars(copy, [{c: getattr(row, c) for c in _FIELDS} for row in spooled])
    )
    fresh = [row for row in spooled if row.id in copied]
    return Taken(fresh, spooled[-1].id, len(spooled), legacy=False)


_FIELDS: Final = tuple(name.strip() for name in COLUMNS.split(","))
