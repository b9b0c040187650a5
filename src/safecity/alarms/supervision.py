"""Alarms about what a panel did *not* say: communication failure and opening-hours exceptions.

Communication failure: an enabled account with `supervision_s` that has sent nothing (not even a
NULL poll) for `supervision_s + grace_s` since its last message (or, never heard from, since it
was created) gets one "communication failure" alarm (source "supervision", code 350, priority
TROUBLE) per silence; its next message restores and resolves it (the processor does that).

Opening hours (accounts with a schedule, see `alarms.schedule`): late to open (a window began
`open_grace_min` ago and the premises were not opened), late to close (the last window ended
`close_grace_min` ago and they are still open), raised here at most once per window / opening;
opened out of hours is raised by the processor when the opening arrives. Source "schedule",
priority INFO.

Where the open/closed state lives: the processor keeps each account's last opening or closing
(state, when, which user) in `platform_settings` under "alarms.open_close.<account id>", so no
column is needed. An account that never reported one counts as closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms import schedule as hours
from safecity.alarms.account_models import Schedule
from safecity.alarms.account_snapshots import AccountFacts
from safecity.alarms.alarm_events import SYSTEM, add_action, raised
from safecity.alarms.context import AlarmContext
from safecity.alarms.lifecycle import AlarmState, Disposition
from safecity.core.errors import StoreUnavailable
from safecity.core.events import Event
from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow
from safecity.store.repositories import alarms as repo

_log = structlog.get_logger(__name__)

TROUBLE: Final = 4
INFO: Final = 5
COMMUNICATION_FAILURE: Final = "350"
OPENED_OUT_OF_HOURS: Final = "450"
LATE_TO_OPEN: Final = "453"
LATE_TO_CLOSE: Final = "454"
TITLES: Final[dict[str, tuple[str, str]]] = {
    COMMUNICATION_FAILURE: ("Communication failure", "通信故障"),
    OPENED_OUT_OF_HOURS: ("Opened out of hours", "非营业时间撤防"),
    LATE_TO_OPEN: ("Late to open", "未按时撤防"),
    LATE_TO_CLOSE: ("Late to close", "未按时布防"),
}


def internal_alarm(
    account: AccountFacts,
    *,
    source: str,
    code: str,
    category: str,
    priority: int,
    at: datetime,
    detail_en: str = "",
    detail_zh: str = "",
) -> AlarmRow:
    """An alarm the centre raises itself (no panel signal behind it)."""
    title_en, title_zh = TITLES.get(code, (code, code))
    return AlarmRow(
        account_id=account.id,
        account=account.account,
        org_unit_id=account.org_unit_id,
        org_path=account.org_path,
        point_id=account.point_id,
        signal_id=None,
        source=source,
        format="internal",
        code=code,
        category=category,
        priority=priority,
        title_en=f"{title_en} {detail_en}".strip()[:200],
        title_zh=f"{title_zh} {detail_zh}".strip()[:200],
        state=AlarmState.NEW,
        confirmed=False,
        escalated=False,
        raised_at=at,
        notes="",
        cameras=[],
        updated_at=at,
    )


def schedule_of(account: AccountFacts) -> Schedule | None:
    if not account.schedule:
        return None
    try:
        return Schedule.model_validate(account.schedule)
    except ValueError:
        _log.warning("alarm.schedule.invalid", account=account.account)
        return None


def is_communication_failure(row: AlarmRow) -> bool:
    return row.source == "supervision" and row.code == COMMUNICATION_FAILURE


def restore_communication(
    session: AsyncSession, row: AlarmRow, at: datetime
) -> list[tuple[AlarmRow, str]]:
    """The panel spoke again: restore and resolve its communication-failure alarm."""
    row.restored_at = at
    add_action(session, row.id, at, SYSTEM, "restored", {})
    changes: list[tuple[AlarmRow, str]] = [(row, "restored")]
    if row.state != AlarmState.RESOLVED:
        row.state = AlarmState.RESOLVED
        row.resolved_at, row.resolved_by = at, SYSTEM
        row.disposition = Disposition.TECHNICAL
        add_action(session, row.id, at, SYSTEM, "resolved", {"disposition": "technical"})
        changes.append((row, "resolved"))
    row.updated_at = at
    return changes


def out_of_hours(account: AccountFacts, at: datetime) -> AlarmRow | None:
    """The alarm for an opening at `at`, if the account's schedule says it is out of hours."""
    schedule = schedule_of(account)
    if schedule is None or not hours.opened_out_of_hours(schedule, at):
        return None
    return internal_alarm(
        account,
        source="schedule",
        code=OPENED_OUT_OF_HOURS,
        category="open_close",
        priority=INFO,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class SupervisionRules:
    interval_s: float = 5.0  # how often `run` checks


class Supervision:
    """Checks every supervised account; `check(now)` raises what is due, `run()` loops."""

    def __init__(self, ctx: AlarmContext, rules: SupervisionRules | None = None) -> None:
        self._ctx = ctx
        self._rules = rules or SupervisionRules()

    async def check(self, now: datetime | None = None) -> list[int]:
        """Raise the communication-failure and schedule alarms due at `now`; their ids."""
        now = now or self._ctx.clock.now()
        created: list[AlarmRow] = []
        async with self._ctx.db.write() as session:
            accounts = await repo.supervised_accounts(session)
            states = await repo.open_close_states(session, [a.id for a in accounts])
            for account in accounts:
                alarm = await self._silence(session, account, now)
                if alarm is not None:
                    created.append(alarm)
                created.extend(await self._hours(session, account, states.get(account.id), now))
            for row in created:
                session.add(row)
            await session.flush()
            for row in created:
                add_action(session, row.id, now, SYSTEM, "raised", {"source": row.source})
        events: list[Event] = [raised(row) for row in created]
        for event in events:
            await self._ctx.bus.publish(event)
        return [row.id for row in created]

    async def _silence(
        self, session: AsyncSession, account: AlarmAccountRow, now: datetime
    ) -> AlarmRow | None:
        if account.supervision_s is None:
            return None
        heard = repo.utc(account.last_seen_at or account.created_at)
        if now - heard <= timedelta(seconds=account.supervision_s + account.grace_s):
            return None
        earlier = await repo.latest_alarm_since(
            session, account.id, source="supervision", code=COMMUNICATION_FAILURE, since=heard
        )
        if earlier is not None:
            return None
        _log.info("alarm.supervision.silent", account=account.account, since=heard.isoformat())
        return internal_alarm(
            account,
            source="supervision",
            code=COMMUNICATION_FAILURE,
            category="communication",
            priority=TROUBLE,
            at=now,
        )

    async def _hours(
        self,
        session: AsyncSession,
        account: AlarmAccountRow,
        state: dict[str, Any] | None,
        now: datetime,
    ) -> list[AlarmRow]:
        schedule = schedule_of(account)
        if schedule is None:
            return []
        is_open = state is not None and state.get("state") == "open"
        found: list[AlarmRow] = []
        if hours.late_to_open(schedule, now, opened=is_open):
            window = hours.window_at(schedule, now)
            since = window.start if window is not None else now
            if (
                await repo.latest_alarm_since(
                    session, account.id, source="schedule", code=LATE_TO_OPEN, since=since
                )
                is None
            ):
                found.append(
                    internal_alarm(
                        account,
                        source="schedule",
                        code=LATE_TO_OPEN,
                        category="open_close",
                        priority=INFO,
                        at=now,
                    )
                )
        if is_open and state is not None and hours.late_to_close(schedule, now, closed=False):
            opened_at = datetime.fromisoformat(str(state["at"]))
            if (
                await repo.latest_alarm_since(
                    session, account.id, source="schedule", code=LATE_TO_CLOSE, since=opened_at
                )
                is None
            ):
                found.append(
                    internal_alarm(
                        account,
                        source="schedule",
                        code=LATE_TO_CLOSE,
                        category="open_close",
                        priority=INFO,
                        at=now,
                    )
                )
        return found

    async def run(self) -> None:
        """Check every `interval_s` until cancelled."""
        while True:
            try:
                await self.check()
            except StoreUnavailable as exc:
                _log.warning("alarm.supervision.store_unavailable", error=str(exc))
            await asyncio.sleep(self._rules.interval_s)
