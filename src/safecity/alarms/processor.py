"""From the durable inbox to the operator queue.

The receiver stores every DC-09 message as an `AlarmSignalRow` before it ACKs the panel; this
processor reads them in id order, in batches, and in one transaction per batch turns them into
alarms and moves its cursor (`platform_settings["alarms.processed_signal_id"]`). A crash rolls
the batch back and the next processor starts again at the cursor, so every signal has exactly one
outcome. Events go out after the commit.

Per message: the account is looked up (unknown or disabled: skipped, logged); its `last_seen_at`
moves (every message counts for supervision, NULL polls included; a communication-failure alarm
is restored and resolved); the payload is decoded by token (ADM-CID: Contact ID, SIA-DCS: SIA
data; a payload that does not decode becomes an "unparsed signal" technical alarm). Per signal:

- a new alarm-class event (everything but open/close, tests and bypasses) raises an alarm with
  the code table's priority, titles in English and Chinese with the zone name, and cameras from
  linkage; burglary alarms go through sequential confirmation;
- a restore marks the matching open alarms (same account, zone and category) restored; troubles
  and technical alarms (priority class 3 and below) are resolved with disposition "technical" by
  "system", burglary and fire stay for an operator to resolve;
- an opening or closing updates the account's open/closed state (for schedule supervision) and an
  opening out of hours raises a schedule alarm; tests and status reports change nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms.account_snapshots import (
    AccountFacts,
    AccountSnapshot,
    AccountSnapshots,
    ZoneFacts,
    record_seen,
)
from safecity.alarms.alarm_events import SYSTEM, changed, raised
from safecity.alarms.confirmation import (
    BURGLARY_CATEGORIES,
    ConfirmationRules,
    confirm,
    confirming,
)
from safecity.alarms.context import AlarmContext
from safecity.alarms.lifecycle import AlarmState, Disposition
from safecity.alarms.linkage import LinkageCache, LinkageRules
from safecity.alarms.supervision import (
    COMMUNICATION_FAILURE,
    is_communication_failure,
    out_of_hours,
    restore_communication,
)
from safecity.core.errors import StoreUnavailable
from safecity.core.events import AlarmChange, Event
from safecity.protocols.dc09 import (
    AlarmSignal,
    Qualifier,
    Token,
    parse_contact_id,
    parse_sia_data,
)
from safecity.store.alarm_tables import AlarmActionRow, AlarmRow, AlarmSignalRow
from safecity.store.repositories import alarms as repo
from safecity.store.repositories.spool import take_signals
from safecity.store.tables import SettingRow

_log = structlog.get_logger(__name__)

CONTACT_ID_TOKEN: Final = str(Token.ADM_CID)
SIA_TOKEN: Final = str(Token.SIA_DCS)
NULL_TOKEN: Final = str(Token.NULL)
NOT_ALARMS: Final = frozenset({"open_close", "test", "bypass"})
AUTO_RESOLVE_FROM: Final = 3  # priority classes 3 (tamper) and up resolve on restore
TROUBLE: Final = 4
UNPARSED: Final = "UNPARSED"
DEFER_STEP_S: Final = 0.005
PRESSED_BATCH: Final = 50  # signals per batch while panels wait for ACKs
YIELD_EVERY: Final = 25  # signals handled between two turns of the event loop


class UnparsedSignal(Exception):
    """The payload does not decode under its token."""


def decode(token: str, data: str) -> tuple[AlarmSignal, ...]:
    """The signals in a message's payload; `UnparsedSignal` if it does not decode."""
    token = token.lstrip("*")
    if token == NULL_TOKEN or (not data and token in (CONTACT_ID_TOKEN, SIA_TOKEN)):
        return ()
    try:
        if token == CONTACT_ID_TOKEN:
            return (parse_contact_id(data),)
        if token == SIA_TOKEN:
            return tuple(parse_sia_data(data))
    except Exception as exc:
        raise UnparsedSignal(f"{token} payload {data!r}: {exc}") from exc
    raise UnparsedSignal(f"unknown token {token!r} with payload {data!r}")


def _decoded(signal: AlarmSignalRow) -> tuple[AlarmSignal, ...] | UnparsedSignal:
    try:
        return decode(signal.token, signal.data)
    except UnparsedSignal as exc:
        return exc


def _format_of(token: str) -> str:
    return {CONTACT_ID_TOKEN: "contact_id", SIA_TOKEN: "sia"}.get(token.lstrip("*"), "unknown")


def titles(signal: AlarmSignal, zone: ZoneFacts | None) -> tuple[str, str]:
    """(English, Chinese) titles: the code's name, then where."""
    name_en, name_zh = signal.info.name_en, signal.info.name_zh
    if signal.zone is None:
        where_en = where_zh = ""
    elif zone is not None:
        where_en, where_zh = (
            f" - zone {signal.zone} {zone.name}",
            f" - 防区{signal.zone} {zone.name}",
        )
    else:
        where_en, where_zh = f" - zone {signal.zone}", f" - 防区{signal.zone}"
    return f"{name_en}{where_en}"[:200], f"{name_zh}{where_zh}"[:200]


def _opening(signal: AlarmSignal) -> bool:
    """Whether an open/close signal is an opening (disarm) rather than a closing (arm)."""
    if str(signal.format) == "sia":
        return bool(signal.code.upper().startswith("O"))
    return signal.qualifier is Qualifier.NEW  # Contact ID: E4xx opening, R4xx closing


@dataclass
class _Batch:
    """What one batch's transaction holds: the rows it loaded, made and changed."""

    session: AsyncSession
    accounts: dict[str, AccountSnapshot]
    zones: Mapping[tuple[int, int], ZoneFacts]  # the snapshots' zones (every account loaded)
    unresolved: dict[int, list[AlarmRow]]
    open_close: dict[int, dict[str, Any]]  # the new states of the accounts that opened or closed
    open_close_rows: dict[int, SettingRow]
    linkage: LinkageCache
    created: list[AlarmRow] = field(default_factory=list)
    zone_names: dict[int, str | None] = field(default_factory=dict)  # id(row) -> zone name
    changes: list[tuple[AlarmRow, AlarmChange, str]] = field(default_factory=list)
    pending_actions: list[tuple[AlarmRow, datetime, str, dict[str, Any]]] = field(
        default_factory=list
    )
    open_close_touched: set[int] = field(default_factory=set)
    skipped: int = 0
    next_id: int | None = None  # SQLite: the id the next new alarm gets (see `_first_id`)
    seen: dict[int, datetime] = field(default_factory=dict)  # account id: its latest message


class AlarmProcessor:
    """Turns inbox rows into alarms. `notify()` wakes it; it also polls every `poll_s`."""

    def __init__(
        self,
        ctx: AlarmContext,
        *,
        batch_size: int = 500,
        poll_s: float = 1.0,
        linkage: LinkageRules | None = None,
        confirmation: ConfirmationRules | None = None,
        spool: str | None = None,
    ) -> None:
        """`spool`: the SQLite inbox spool's file (`store.repositories.spool`), if any."""
        self._ctx = ctx
        self._spool = spool
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._linkage = linkage or LinkageRules()
        self._confirmation = confirmation or ConfirmationRules()
        self._wake = asyncio.Event()
        self._snapshots = AccountSnapshots()
        self._legacy = True  # inbox rows may wait in `alarm_signals` itself (see take_signals)
        self._pressure: Callable[[], int] = lambda: 0
        self._defer_above = 0
        self._max_defer_s = 0.0
        self.deferred_s = 0.0  # time spent giving way to the intake, for metrics and benchmarks

    def defer_to(self, pressure: Callable[[], int], *, above: int, max_s: float) -> None:
        """Give way to the receiver under overload: while `pressure()` (alarms waiting for their
        commit, hence for their ACK) is above `above`, hold the next batch back, for at most
        `max_s` each time so the queue on screen never stops moving. Panels are ACKed first;
        the alarms are stored already and appear when the burst has passed."""
        self._pressure, self._defer_above, self._max_defer_s = pressure, above, max_s

    async def _give_way(self) -> None:
        if self._pressure() <= self._defer_above:
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        # The intake's queue length has no event to wait on; a 5 ms poll costs nothing here.
        while self._pressure() > self._defer_above and loop.time() - start < self._max_defer_s:  # noqa: ASYNC110
            await asyncio.sleep(DEFER_STEP_S)
        self.deferred_s += loop.time() - start

    def notify(self) -> None:
        """New rows are in the inbox: process them now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Process until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.process_pending()
            except StoreUnavailable as exc:
                _log.warning("alarm.processor.store_unavailable", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def process_pending(self) -> int:
        """Process every signal now in the inbox; how many were taken."""
        total = 0
        while True:
            await self._give_way()
            # Panels are waiting for ACKs (or the hold-back ran out): a short batch, so the
            # write lock is back with the intake soon.
            size = PRESSED_BATCH if self._pressure() > 0 else self._batch_size
            taken = await self.process_batch(min(size, self._batch_size))
            total += taken
            if taken < min(size, self._batch_size):
                return total

    async def process_batch(self, size: int | None = None) -> int:
        """Process up to one batch in one transaction; how many signals it took."""
        async with self._ctx.db.write() as session:
            after = await repo.cursor(session, lock=True)
            taken = await take_signals(
                session, self._spool, after, size or self._batch_size, legacy=self._legacy
            )
            self._legacy = taken.legacy
            if taken.last_id is None:
                return 0
            signals = taken.signals
            if not signals:  # only retransmissions already processed: move past them
                await repo.set_cursor(session, taken.last_id)
                return taken.consumed
            decoded = {signal.id: _decoded(signal) for signal in signals}
            batch = await self._load(session, signals, decoded)
            for index, signal in enumerate(signals, start=1):
                await self._message(batch, signal, decoded[signal.id])
                if index % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the receiver read and queue frames meanwhile
            await session.flush()  # ids for the new alarms
            actions: list[tuple[AlarmRow, datetime, str, dict[str, Any]]] = [
                (row, repo.utc(row.raised_at), "raised", {}) for row in batch.created
            ]
            actions.extend(batch.pending_actions)
            if actions:  # one executemany: the ids of action rows are never needed here
                await session.execute(
                    insert(AlarmActionRow),
                    [
                        {
                            "alarm_id": row.id,
                            "at": at,
                            "actor": SYSTEM,
                            "action": action,
                            "detail": detail,
                        }
                        for row, at, action, detail in actions
                    ],
                )
            for account_id in batch.open_close_touched:
                state = batch.open_close[account_id]
                if account_id in batch.open_close_rows:
                    batch.open_close_rows[account_id].value = json.dumps(state, sort_keys=True)
                else:
                    session.add(repo.open_close_row(account_id, state))
            await record_seen(session, batch.seen)
            await repo.set_cursor(session, taken.last_id)
            events = await self._events(batch)
        for event in events:
            await self._ctx.bus.publish(event)
        return taken.consumed

    async def _load(
        self,
        session: AsyncSession,
        signals: Sequence[AlarmSignalRow],
        decoded: dict[int, tuple[AlarmSignal, ...] | UnparsedSignal],
    ) -> _Batch:
        accounts = await self._snapshots.accounts(session, {s.account for s in signals})
        ids = [row.id for row in accounts.values()]
        unresolved: dict[int, list[AlarmRow]] = defaultdict(list)
        earliest = min(repo.utc(signal.received_at) for signal in signals)
        recent = earliest - timedelta(seconds=self._confirmation.window_s)
        restores: set[tuple[int, int | None, str]] = set()
        burglaries: set[int] = set()
        opening_or_closing: set[int] = set()
        for signal in signals:
            items = decoded[signal.id]
            account = accounts.get(signal.account)
            if account is not None and not isinstance(items, UnparsedSignal):
                restores.update(
                    (account.id, i.zone, str(i.info.category))
                    for i in items
                    if i.qualifier is Qualifier.RESTORE
                )
                if any(
                    i.qualifier is Qualifier.NEW and i.info.category in BURGLARY_CATEGORIES
                    for i in items
                ):
                    burglaries.add(account.id)
                if any(str(i.info.category) == "open_close" for i in items):
                    opening_or_closing.add(account.id)
        wanted = repo.Restorable(
            account_ids=ids,
            recent=recent,
            confirming=burglaries,
            restores=restores,
            marker=("supervision", COMMUNICATION_FAILURE),
        )
        for row in await repo.unresolved_of_accounts(session, wanted):
            unresolved[row.account_id].append(row)
        # Only the rows to update: a new state replaces the old one whole, unread.
        open_close_rows = await repo.open_close_rows(session, opening_or_closing)
        points = {row.point_id for row in accounts.values() if row.point_id is not None}
        return _Batch(
            session=session,
            accounts=accounts,
            zones=self._snapshots.zones,
            unresolved=unresolved,
            open_close={},
            open_close_rows=open_close_rows,
            linkage=await LinkageCache.load(session, self._linkage, points),
            next_id=await self._first_id(session),
        )

    async def _first_id(self, session: AsyncSession) -> int | None:
        """On SQLite, the id of the batch's first new alarm, so that the flush inserts them all
        with one `executemany`: given no ids, SQLAlchemy must insert SQLite rows one statement
        at a time to learn each id (SQLite's RETURNING has no order to match rows by). The
        transaction holds the process's write lock; a writer in another process would make our
        first write fail (a stale snapshot), never reuse an id. PostgreSQL batches RETURNING."""
        if not self._ctx.db.is_sqlite:
            return None
        with session.no_autoflush:
            top = await session.scalar(select(func.max(AlarmRow.id)))
        return (top or 0) + 1

    async def _events(self, batch: _Batch) -> list[Event]:
        events: list[Event] = []
        locations = batch.linkage.locations
        for row in batch.created:
            location = locations.get(row.point_id) if row.point_id is not None else None
            events.append(raised(row, zone_name=batch.zone_names.get(id(row)), location=location))
        created = {id(row) for row in batch.created}
        for row, change, actor in batch.changes:
            if change == "confirmed" and id(row) in created and row.confirmed:
                # Its AlarmRaised already says confirmed; say it again only for older alarms.
                continue
            events.append(changed(row, change, row.updated_at, actor))
        return events

    async def _message(
        self,
        batch: _Batch,
        signal: AlarmSignalRow,
        decoded: tuple[AlarmSignal, ...] | UnparsedSignal,
    ) -> None:
        account = batch.accounts.get(signal.account)
        if account is None or not account.enabled:
            batch.skipped += 1
            _log.info(
                "alarm.signal.skipped",
                signal_id=signal.id,
                account=signal.account,
                reason="unknown account" if account is None else "account disabled",
            )
            return
        received = repo.utc(signal.received_at)
        seen = batch.seen.get(account.id)
        if seen is None or received > seen:
            batch.seen[account.id] = received
        for row in list(batch.unresolved[account.id]):
            if is_communication_failure(row):
                for restored, change in restore_communication(batch.session, row, received):
                    batch.changes.append((restored, change, SYSTEM))  # type: ignore[arg-type]
                batch.unresolved[account.id].remove(row)
        if isinstance(decoded, UnparsedSignal):
            _log.warning("alarm.signal.unparsed", signal_id=signal.id, error=str(decoded))
            self._unparsed(batch, account, signal, received)
            return
        for item in decoded:
            await self._signal(batch, account, signal, item, received)

    def _unparsed(
        self, batch: _Batch, account: AccountFacts, signal: AlarmSignalRow, at: datetime
    ) -> None:
        row = self._new_row(account, signal, at)
        row.format = _format_of(signal.token)
        row.code, row.category, row.priority = UNPARSED, "system", TROUBLE
        row.title_en = f"Unparsed signal: {signal.token} {signal.data}"[:200]
        row.title_zh = f"无法解析的信号: {signal.token} {signal.data}"[:200]
        self._add(batch, row, None)

    def _new_row(self, account: AccountFacts, signal: AlarmSignalRow, at: datetime) -> AlarmRow:
        return AlarmRow(
            account_id=account.id,
            account=account.account,
            org_unit_id=account.org_unit_id,
            org_path=account.org_path,
            point_id=account.point_id,
            signal_id=signal.id,
            source="panel",
            format="unknown",
            code="",
            category="other",
            priority=TROUBLE,
            title_en="",
            title_zh="",
            state=AlarmState.NEW,
            confirmed=False,
            escalated=False,
            raised_at=at,
            notes="",
            cameras=[],
            updated_at=at,
        )

    def _add(self, batch: _Batch, row: AlarmRow, zone_name: str | None) -> None:
        if batch.next_id is not None:
            row.id, batch.next_id = batch.next_id, batch.next_id + 1
        batch.session.add(row)
        batch.created.append(row)
        batch.zone_names[id(row)] = zone_name
        batch.unresolved[row.account_id].append(row)

    async def _signal(
        self,
        batch: _Batch,
        account: AccountFacts,
        message: AlarmSignalRow,
        signal: AlarmSignal,
        at: datetime,
    ) -> None:
        category = str(signal.info.category)
        if category == "open_close":
            self._open_close(batch, account, signal, at)
            return
        if signal.qualifier is Qualifier.RESTORE:
            self._restore(batch, account, signal, category, at)
            return
        if signal.qualifier is not Qualifier.NEW or category in NOT_ALARMS:
            return
        zone = batch.zones.get((account.id, signal.zone)) if signal.zone is not None else None
        row = self._new_row(account, message, at)
        row.format = str(signal.format)
        row.code = signal.code[:8]
        row.category = category
        row.priority = int(signal.info.priority)
        row.title_en, row.title_zh = titles(signal, zone)
        row.partition, row.zone, row.user = signal.partition, signal.zone, signal.user
        row.cameras = await batch.linkage.cameras(account, zone)
        self._add(batch, row, zone.name if zone is not None else None)
        others = confirming(
            row,
            batch.unresolved[account.id],
            lambda r: self._detector(batch, r),
            self._confirmation,
        )
        if others:
            for confirmed in confirm([row, *others]):
                confirmed.updated_at = at
                batch.changes.append((confirmed, "confirmed", SYSTEM))
                batch.pending_actions.append(
                    (confirmed, at, "confirmed", {"by_signal": message.id})
                )

    @staticmethod
    def _detector(batch: _Batch, row: AlarmRow) -> str | None:
        if row.zone is None:
            return None
        zone = batch.zones.get((row.account_id, row.zone))
        return zone.detector if zone is not None else None

    def _restore(
        self,
        batch: _Batch,
        account: AccountFacts,
        signal: AlarmSignal,
        category: str,
        at: datetime,
    ) -> None:
        for row in list(batch.unresolved[account.id]):
            if (
                row.source != "panel"
                or row.category != category
                or row.zone != signal.zone
                or row.restored_at is not None
            ):
                continue
            row.restored_at, row.updated_at = at, at
            batch.changes.append((row, "restored", SYSTEM))
            batch.pending_actions.append((row, at, "restored", {"code": signal.code}))
            if row.priority >= AUTO_RESOLVE_FROM:
                row.state = AlarmState.RESOLVED
                row.resolved_at, row.resolved_by = at, SYSTEM
                row.disposition = Disposition.TECHNICAL
                batch.changes.append((row, "resolved", SYSTEM))
                batch.pending_actions.append((row, at, "resolved", {"disposition": "technical"}))
                batch.unresolved[account.id].remove(row)

    def _open_close(
        self, batch: _Batch, account: AccountFacts, signal: AlarmSignal, at: datetime
    ) -> None:
        if signal.qualifier is Qualifier.STATUS:
            return
        opening = _opening(signal)
        batch.open_close[account.id] = {
            "state": "open" if opening else "closed",
            "at": at.isoformat(),
            "user": signal.user,
            "code": signal.code,
        }
        batch.open_close_touched.add(account.id)
        if opening:
            alarm = out_of_hours(account, at)
            if alarm is not None:
                self._add(batch, alarm, None)
