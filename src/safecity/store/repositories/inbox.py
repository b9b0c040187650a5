"""Writing received DC-09 messages into the inbox: the intake's hot path.

Every ACK waits for one of these inserts, thousands of times a second. On SQLite the inbox is the
spool file (`store.repositories.spool`) and the writer skips the ORM and the async driver: rows
are plain tuples, inserted with `executemany` on a connection of its own, in one worker thread
(sqlite3 releases the GIL while it steps and syncs). On PostgreSQL (and SQLite in memory) rows go
into `alarm_signals` through the ordinary write session, which skips a row whose de-duplication
key is already there. The spool keeps every row it is given, a retransmission too: the processor's
copy into `alarm_signals` stores it once (`spool` says why the spool has no unique key).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol

import structlog
from sqlalchemy.dialects import postgresql, sqlite

from safecity.store.alarm_tables import AlarmSignalRow
from safecity.store.repositories.port import Transactions
from safecity.store.repositories.spool import Pragmas, processed_up_to, prune

_log = structlog.get_logger(__name__)

COLUMNS: Final = (
    "account",
    "sequence",
    "token",
    "sent_at",
    "data",
    "dedupe",
    "received_at",
    "transport",
    "peer",
)
PRUNE_EVERY_S: Final = 0.5  # a chunk at a time (`spool.prune`)
_INSERT: Final = (  # constants only: the column names above and one placeholder each
    f"INSERT INTO inbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
)


class InboxRow(NamedTuple):
    account: str
    sequence: int
    token: str
    sent_at: datetime | None
    data: str
    dedupe: str
    received_at: datetime
    transport: str
    peer: str


class InboxWriter(Protocol):
    async def insert(self, rows: Sequence[InboxRow]) -> None:
        """Commit `rows`; raise if the commit failed. A retransmission ends up once in
        `alarm_signals`, whether the writer skips it or the processor's copy does."""
        ...

    async def aclose(self) -> None: ...


class SessionInboxWriter:
    """Through the store's write session: any dialect."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    async def insert(self, rows: Sequence[InboxRow]) -> None:
        dialect = sqlite if self._db.is_sqlite else postgresql
        statement = dialect.insert(AlarmSignalRow).on_conflict_do_nothing(index_elements=["dedupe"])
        async with self._db.write() as session:
            await session.execute(statement, [row._asdict() for row in rows])

    async def aclose(self) -> None:
        return None


class SpoolWriter:
    """`executemany` into the SQLite spool (`store.repositories.spool`) on a connection of its
    own, in one worker thread; now and then it deletes what the processor has copied."""

    def __init__(
        self,
        path: str,
        store_path: str,
        pragmas: Pragmas,
        *,
        prune_every_s: float = PRUNE_EVERY_S,
    ) -> None:
        self._path = path
        self._store_path = store_path
        self._pragmas = pragmas
        self._prune_every_s = prune_every_s
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alarm-inbox")
        self._connection: sqlite3.Connection | None = None
        self._pruned_at = time.monotonic()
        # The same text SQLAlchemy writes for a DateTime on SQLite, so its reads parse it.
        stamp = sqlite.DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]
        if stamp is None:
            raise RuntimeError("SQLAlchemy's SQLite DateTime lost its bind processor")
        self._stamp: Callable[[Any], Any] = stamp

    async def insert(self, rows: Sequence[InboxRow]) -> None:
        stamp = self._stamp
        values = [
            (
                row.account,
                row.sequence,
                row.token,
                stamp(row.sent_at),
                row.data,
                row.dedupe,
                stamp(row.received_at),
                row.transport,
                row.peer,
            )
            for row in rows
        ]
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, values)

    def _write(self, values: list[tuple[Any, ...]]) -> None:
        if self._connection is None:  # the spool exists: `open_spool` ran at start
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._pragmas(connection)
            self._connection = connection
        connection = self._connection
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(_INSERT, values)
            connection.execute("COMMIT")
        except sqlite3.Error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        if time.monotonic() - self._pruned_at >= self._prune_every_s:
            self._pruned_at = time.monotonic()
            try:
                prune(connection, processed_up_to(self._store_path))
            except sqlite3.Error as exc:  # a later sweep takes it; the rows are only kept longer
                _log.warning("alarm.spool.prune_failed", error=str(exc))

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
