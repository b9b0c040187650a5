"""The durable inbox: every DC-09 message is committed here before its panel is acknowledged.

`SignalIntake.store(message, ...)` returns only once the message's row is committed (or was
already there: a retransmission), and raises `StoreUnavailable` if the commit failed, in which
case the caller must send nothing so the panel retries. Callers from thousands of connections
are gathered into group commits: one writer task takes whatever is waiting (up to `max_batch`)
and inserts it in one transaction, so a commit's cost is shared by every alarm in it and
throughput grows with load instead of collapsing.

Retransmissions are stored once: each row carries a de-duplication key over the account,
sequence, token, timestamp and payload, and the insert skips rows whose key is already stored.
A message without a timestamp (plaintext panels may omit it) adds the receive time rounded down
to `untimed_window`; a retransmission that straddles that boundary is stored twice rather than
risking that a later, genuinely new message with the same sequence number is dropped.

The receiver's hot path is `submit`, which takes a callback instead of returning an awaitable:
at thousands of messages a second, a task and a future per message cost more than the insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import structlog

from safecity.core.errors import StoreUnavailable
from safecity.protocols.dc09 import Dc09Message
from safecity.store.repositories.inbox import InboxRow, InboxWriter

_log = structlog.get_logger(__name__)

UNTIMED_WINDOW: Final = timedelta(minutes=10)


def dedupe_key(message: Dc09Message, received_at: datetime, untimed_window: timedelta) -> str:
    """Equal for a message and its retransmissions; 64 hex digits."""
    if message.timestamp is not None:
        when = message.timestamp.isoformat()
    else:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        when = f"rx{(received_at - epoch) // untimed_window}"
    parts = (
        message.account,
        message.line,
        message.receiver or "",
        str(message.token),
        str(message.sequence),
        when,
        message.data,
        *message.extended,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


Done = Callable[[StoreUnavailable | None], None]


@dataclass(slots=True)
class _Pending:
    row: InboxRow
    done: Done


class SignalIntake:
    """Group-committing writer of received messages; see the module docstring."""

    def __init__(
        self,
        inbox: InboxWriter,
        *,
        on_stored: Callable[[], None] | None = None,
        max_batch: int = 2000,
        untimed_window: timedelta = UNTIMED_WINDOW,
    ) -> None:
        self._inbox = inbox
        self._on_stored = on_stored
        self._max_batch = max_batch
        self._untimed_window = untimed_window
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._in_commit = 0
        self.committed = 0  # rows offered in successful commits (duplicates included)
        self.commits = 0

    async def store(
        self, message: Dc09Message, *, received_at: datetime, transport: str, peer: str
    ) -> None:
        """Return once `message` is durably stored; raise `StoreUnavailable` if it was not."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finished(error: StoreUnavailable | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        self.submit(message, received_at=received_at, transport=transport, peer=peer, done=finished)
        await asyncio.shield(done)

    def submit(
        self,
        message: Dc09Message,
        *,
        received_at: datetime,
        transport: str,
        peer: str,
        done: Done,
    ) -> None:
        """Queue `message`; `done(None)` once it is committed, `done(error)` if it was not.
        `done` runs on the event loop, once."""
        row = InboxRow(
            message.account,
            message.sequence,
            str(message.token),
            message.timestamp,
            message.data,
            dedupe_key(message, received_at, self._untimed_window),
            received_at,
            transport,
            peer[:64],
        )
        self._queue.append(_Pending(row, done))
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="alarm-intake")

    @property
    def waiting(self) -> int:
        """Messages received and not yet committed: each is a panel waiting for its ACK."""
        return len(self._queue) + self._in_commit

    async def aclose(self) -> None:
        """Stop the writer; messages still waiting fail with `StoreUnavailable` (never ACKed)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._fail(self._take_all(), StoreUnavailable("the receiver is shutting down"))

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: len(batch)]
                self._in_commit = len(batch)
                try:
                    await self._commit([item.row for item in batch])
                except asyncio.CancelledError:
                    self._fail(batch, StoreUnavailable("the receiver is shutting down"))
                    raise
                except Exception as exc:  # noqa: BLE001 (any failure means: not stored, no ACK)
                    _log.warning("alarm.intake.commit_failed", error=str(exc), rows=len(batch))
                    self._fail(batch, StoreUnavailable(f"alarm inbox commit failed: {exc}"))
                    continue
                finally:
                    self._in_commit = 0
                self.committed += len(batch)
                self.commits += 1
                self._finish(batch, None)
                if self._on_stored is not None:
                    self._on_stored()

    async def _commit(self, rows: list[InboxRow]) -> None:
        await self._inbox.insert(rows)

    def _take_all(self) -> list[_Pending]:
        taken, self._queue = self._queue, []
        return taken

    @classmethod
    def _fail(cls, batch: list[_Pending], error: StoreUnavailable) -> None:
        cls._finish(batch, error)

    @staticmethod
    def _finish(batch: list[_Pending], error: StoreUnavailable | None) -> None:
        for item in batch:
            try:
                item.done(error)
            except Exception:  # noqa: BLE001 (one caller's failure must not stop the others)
                _log.exception("alarm.intake.callback_failed", account=item.row.account)
