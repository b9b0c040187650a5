"""Escalation: an alarm nobody acknowledged in time is flagged for the supervisor.

The limit depends on the alarm's priority class (life-safety alarms fastest). An escalated alarm
gets an "escalated" action row and `AlarmChanged(change="escalated")`; it escalates once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from safecity.alarms.alarm_events import SYSTEM, add_action, changed
from safecity.alarms.context import AlarmContext
from safecity.core.errors import StoreUnavailable
from safecity.store.repositories import alarms as repo

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EscalationRules:
    """Seconds an alarm may wait unacknowledged, per priority class."""

    life_s: float = 30.0
    burglary_s: float = 60.0
    other_s: float = 300.0
    interval_s: float = 1.0  # how often `run` checks

    def limit_s(self, priority: int) -> float:
        if priority <= 1:
            return self.life_s
        if priority == 2:
            return self.burglary_s
        return self.other_s


class Escalation:
    def __init__(self, ctx: AlarmContext, rules: EscalationRules | None = None) -> None:
        self._ctx = ctx
        self._rules = rules or EscalationRules()

    async def check(self, now: datetime | None = None) -> list[int]:
        """Escalate every alarm still new past its limit at `now`; their ids."""
        now = now or self._ctx.clock.now()
        shortest = min(self._rules.life_s, self._rules.burglary_s, self._rules.other_s)
        async with self._ctx.db.write() as session:
            candidates = await repo.unacknowledged_before(
                session, now - timedelta(seconds=shortest)
            )
            due = [
                row
                for row in candidates
                if repo.utc(row.raised_at) + timedelta(seconds=self._rules.limit_s(row.priority))
                <= now
            ]
            for row in due:
                waited = (now - repo.utc(row.raised_at)).total_seconds()
                row.escalated = True
                row.updated_at = now
                add_action(session, row.id, now, SYSTEM, "escalated", {"waited_s": waited})
        for row in due:
            _log.info("alarm.escalated", alarm_id=row.id, priority=row.priority)
            await self._ctx.bus.publish(changed(row, "escalated", now, SYSTEM))
        return [row.id for row in due]

    async def run(self) -> None:
        """Check every `interval_s` until cancelled."""
        while True:
            try:
                await self.check()
            except StoreUnavailable as exc:
                _log.warning("alarm.escalation.store_unavailable", error=str(exc))
            await asyncio.sleep(self._rules.interval_s)
