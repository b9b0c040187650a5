"""The operator's side of the alarm centre: the queue, one alarm with its history and action
plan, the handling steps, and the handling-time report.

Scope: staff see the alarms of their org subtree; a partner department sees the alarms of points
granted to it with the `alarms` right; anything else is not found. Every step writes an action
row and an audit record in one transaction and publishes `AlarmChanged` after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms.account_models import ActionPlan
from safecity.alarms.alarm_events import add_action, changed
from safecity.alarms.alarm_models import (
    Alarm,
    AlarmAction,
    AlarmDetail,
    Dispatch,
    HandlingReport,
    HandlingStats,
    Note,
    PriorityHandling,
    Resolve,
)
from safecity.alarms.context import AlarmContext, record
from safecity.alarms.lifecycle import (
    AlarmState,
    Disposition,
    check_transition,
    handling_times,
    percentile,
)
from safecity.core.errors import NotFound
from safecity.core.events import AlarmChange
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Role, Scope
from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow, AlarmZoneRow
from safecity.store.repositories import alarms as repo
from safecity.store.repositories import org as org_repo

# Alarm categories whose plan is the account's "trouble" steps.
_TROUBLE_CATEGORIES: Final = frozenset({"power", "battery", "communication", "system"})


def alarm_view(row: AlarmRow) -> Alarm:
    return Alarm(
        id=row.id,
        account_id=row.account_id,
        account=row.account,
        org_unit_id=row.org_unit_id,
        org_path=row.org_path,
        point_id=row.point_id,
        signal_id=row.signal_id,
        source=row.source,
        format=row.format,
        code=row.code,
        category=row.category,
        priority=row.priority,
        title_en=row.title_en,
        title_zh=row.title_zh,
        partition=row.partition,
        zone=row.zone,
        user=row.user,
        state=AlarmState(row.state),
        confirmed=row.confirmed,
        escalated=row.escalated,
        raised_at=repo.utc(row.raised_at),
        acknowledged_at=repo.utc_or_none(row.acknowledged_at),
        acknowledged_by=row.acknowledged_by,
        dispatched_at=repo.utc_or_none(row.dispatched_at),
        dispatch_unit=row.dispatch_unit,
        dispatch_eta=repo.utc_or_none(row.dispatch_eta),
        on_scene_at=repo.utc_or_none(row.on_scene_at),
        resolved_at=repo.utc_or_none(row.resolved_at),
        resolved_by=row.resolved_by,
        disposition=Disposition(row.disposition) if row.disposition else None,
        notes=row.notes,
        restored_at=repo.utc_or_none(row.restored_at),
        cameras=list(row.cameras),
        updated_at=repo.utc(row.updated_at),
    )


def plan_steps(action_plans: dict[str, Any], category: str) -> list[str]:
    """The account's operator steps for an alarm category (trouble steps for technical ones)."""
    try:
        plan = ActionPlan.model_validate(action_plans or {})
    except ValueError:
        return []
    return plan.steps_for("trouble" if category in _TROUBLE_CATEGORIES else category)


def visibility(scope: Scope) -> tuple[str, frozenset[int]]:
    """(subtree path or "", points whose alarms a partner may see)."""
    if scope.role is Role.PARTNER:
        granted = frozenset(
            point for point, rights in scope.rights_by_point.items() if Right.ALARMS in rights
        )
        return "", granted
    return scope.org_path, frozenset()


def sees_alarm(scope: Scope, row: AlarmRow) -> bool:
    if scope.covers_path(row.org_path):
        return True
    return row.point_id is not None and scope.has_right(row.point_id, row.org_path, Right.ALARMS)


def _stats(values: list[float]) -> HandlingStats:
    return HandlingStats(
        count=len(values), p50_s=percentile(values, 0.5), p90_s=percentile(values, 0.9)
    )


Step = Callable[[AlarmRow, datetime], dict[str, Any]]


class AlarmService:
    def __init__(self, ctx: AlarmContext) -> None:
        self._ctx = ctx

    async def _visible(
        self, session: AsyncSession, scope: Scope, alarm_id: int, *, lock: bool = False
    ) -> AlarmRow:
        row = await session.get(AlarmRow, alarm_id, with_for_update=lock)
        if row is None or not sees_alarm(scope, row):
            raise NotFound(f"alarm {alarm_id} not found")
        return row

    async def _subtree(
        self, session: AsyncSession, scope: Scope, unit_id: int | None
    ) -> str | None:
        if unit_id is None:
            return None
        unit = await org_repo.unit(session, unit_id)
        if unit is None or not scope.covers_path(unit.path):
            raise NotFound(f"org unit {unit_id} not found")
        return unit.path

    async def list(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        states: list[AlarmState] | None = None,
        max_priority: int | None = None,
        org_unit_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[Alarm]:
        """Visible alarms, most urgent first then newest; `max_priority` keeps those at least
        that urgent (priority <= it: 1 = life only)."""
        require(scope, Resource.ALARM, Action.READ)
        path, points = visibility(scope)
        async with self._ctx.db.session() as session:
            subtree = await self._subtree(session, scope, org_unit_id)
            rows, total = await repo.alarms(
                session,
                path=path,
                alarm_points=points,
                offset=page.offset,
                limit=page.limit,
                subtree=subtree,
                states=[str(state) for state in states] if states else None,
                max_priority=max_priority,
                since=since,
                until=until,
            )
        return Page(
            items=[alarm_view(row) for row in rows],
            total=total,
            offset=page.offset,
            limit=page.limit,
        )

    async def get(self, scope: Scope, alarm_id: int) -> AlarmDetail:
        """One alarm with its history, the account's steps for it and its zone's name."""
        require(scope, Resource.ALARM, Action.READ)
        async with self._ctx.db.session() as session:
            row = await self._visible(session, scope, alarm_id)
            actions = await repo.actions_of(session, row.id)
            account = await session.get(AlarmAccountRow, row.account_id)
            zone_name = None
            if row.zone is not None:
                zones = await repo.zones_by_account(session, [row.account_id])
                zone: AlarmZoneRow | None = zones.get((row.account_id, row.zone))
                zone_name = zone.name if zone is not None else None
        plan = plan_steps(account.action_plans, row.category) if account is not None else []
        return AlarmDetail(
            **alarm_view(row).model_dump(),
            actions=[
                AlarmAction(
                    id=action.id,
                    at=repo.utc(action.at),
                    actor=action.actor,
                    action=action.action,
                    detail=dict(action.detail),
                )
                for action in actions
            ],
            plan=plan,
            zone_name=zone_name,
        )

    async def _step(
        self,
        scope: Scope,
        alarm_id: int,
        *,
        verb: str,
        change: AlarmChange | None,
        apply: Step,
        target: AlarmState | None = None,
        disposition: Disposition | None = None,
    ) -> Alarm:
        require(scope, Resource.ALARM, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, alarm_id, lock=True)
            if not scope.covers_path(row.org_path):
                raise NotFound(f"alarm {alarm_id} not found")
            if target is not None:
                row.state = check_transition(row.state, target, disposition)
            now = self._ctx.clock.now()
            detail = apply(row, now)
            row.updated_at = now
            add_action(session, row.id, now, scope.username, change or verb, detail)
            await record(
                self._ctx,
                session,
                scope,
                action=f"alarms.{verb}",
                target=f"alarm:{row.id}",
                org_path=row.org_path,
                detail=detail,
            )
        if change is not None:
            await self._ctx.bus.publish(changed(row, change, now, scope.username))
        return alarm_view(row)

    async def acknowledge(self, scope: Scope, alarm_id: int) -> Alarm:
        """Claim an alarm: it leaves the unclaimed queue and stops escalating."""

        def apply(row: AlarmRow, now: datetime) -> dict[str, Any]:
            row.acknowledged_at, row.acknowledged_by = now, scope.username
            return {}

        return await self._step(
            scope,
            alarm_id,
            verb="acknowledge",
            change="acknowledged",
            apply=apply,
            target=AlarmState.ACKNOWLEDGED,
        )

    async def dispatch(self, scope: Scope, alarm_id: int, order: Dispatch) -> Alarm:
        def apply(row: AlarmRow, now: datetime) -> dict[str, Any]:
            row.dispatched_at, row.dispatch_unit = now, order.unit
            row.dispatch_eta = (
                None if order.eta_min is None else now + timedelta(minutes=order.eta_min)
            )
            return {"unit": order.unit, "eta_min": order.eta_min}

        return await self._step(
            scope,
            alarm_id,
            verb="dispatch",
            change="dispatched",
            apply=apply,
            target=AlarmState.DISPATCHED,
        )

    async def on_scene(self, scope: Scope, alarm_id: int) -> Alarm:
        def apply(row: AlarmRow, now: datetime) -> dict[str, Any]:
            row.on_scene_at = now
            return {"unit": row.dispatch_unit}

        return await self._step(
            scope,
            alarm_id,
            verb="on_scene",
            change="on_scene",
            apply=apply,
            target=AlarmState.ON_SCENE,
        )

    async def resolve(self, scope: Scope, alarm_id: int, outcome: Resolve) -> Alarm:
        def apply(row: AlarmRow, now: datetime) -> dict[str, Any]:
            row.resolved_at, row.resolved_by = now, scope.username
            row.disposition = str(outcome.disposition)
            if outcome.notes:
                row.notes = _append_note(row.notes, now, scope.username, outcome.notes)
            return {"disposition": str(outcome.disposition), "notes": outcome.notes}

        return await self._step(
            scope,
            alarm_id,
            verb="resolve",
            change="resolved",
            apply=apply,
            target=AlarmState.RESOLVED,
            disposition=outcome.disposition,
        )

    async def add_note(self, scope: Scope, alarm_id: int, note: Note) -> Alarm:
        """A note on the alarm's record, in any state (no event: nothing changed for the queue)."""

        def apply(row: AlarmRow, now: datetime) -> dict[str, Any]:
            row.notes = _append_note(row.notes, now, scope.username, note.text)
            return {"text": note.text}

        return await self._step(scope, alarm_id, verb="note", change=None, apply=apply)

    async def handling_times(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        org_unit_id: int | None = None,
    ) -> HandlingReport:
        """Count and p50/p90 seconds to acknowledge, dispatch and close, per priority class, for
        the visible alarms raised in [since, until) under the given unit (default: all visible)."""
        require(scope, Resource.ALARM, Action.READ)
        path, points = visibility(scope)
        async with self._ctx.db.session() as session:
            subtree = await self._subtree(session, scope, org_unit_id)
            rows = await repo.handling_rows(
                session,
                path=path,
                alarm_points=points,
                subtree=subtree,
                since=since,
                until=until,
            )
        raised: dict[int, int] = defaultdict(int)
        series: dict[int, dict[str, list[float]]] = defaultdict(
            lambda: {"ack": [], "dispatch": [], "close": []}
        )
        for priority, raised_at, acknowledged, dispatched, resolved in rows:
            raised[priority] += 1
            times = handling_times(
                repo.utc(raised_at),
                repo.utc_or_none(acknowledged),
                repo.utc_or_none(dispatched),
                repo.utc_or_none(resolved),
            )
            for key, value in (
                ("ack", times.to_acknowledge_s),
                ("dispatch", times.to_dispatch_s),
                ("close", times.to_close_s),
            ):
                if value is not None:
                    series[priority][key].append(value)
        return HandlingReport(
            since=since,
            until=until,
            org_unit_id=org_unit_id,
            by_priority=[
                PriorityHandling(
                    priority=priority,
                    alarms=raised[priority],
                    to_acknowledge=_stats(series[priority]["ack"]),
                    to_dispatch=_stats(series[priority]["dispatch"]),
                    to_close=_stats(series[priority]["close"]),
                )
                for priority in sorted(raised)
            ],
        )


def _append_note(notes: str, at: datetime, actor: str, text: str) -> str:
    line = f"[{at.isoformat(timespec='seconds')} {actor}] {text}"
    return f"{notes}\n{line}" if notes else line
