"""The alarm queue and the operator's handling steps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from safecity.alarms.alarm_models import (
    Alarm,
    AlarmDetail,
    Dispatch,
    HandlingReport,
    Note,
    Resolve,
)
from safecity.alarms.lifecycle import AlarmState
from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource

router = APIRouter(prefix="/api/alarms", tags=["alarms"])
READ = scoped(Resource.ALARM, Action.READ)
WRITE = scoped(Resource.ALARM, Action.WRITE)

UnitFilter = Annotated[
    int | None, Query(ge=1, le=2**62, description="Only alarms of this org unit's subtree")
]
Since = Annotated[datetime | None, Query(description="Raised at or after (ISO 8601)")]
Until = Annotated[datetime | None, Query(description="Raised before (ISO 8601)")]


@router.get("", **READ)
async def list_alarms(
    scope: CallerScope,
    svc: Svc,
    page: Paging,
    state: Annotated[
        list[AlarmState] | None, Query(description="Only these states (repeat the parameter)")
    ] = None,
    min_priority: Annotated[
        int | None,
        Query(ge=1, le=5, description="At least this urgent: keeps priority <= it (1 = life)"),
    ] = None,
    org_unit_id: UnitFilter = None,
    since: Since = None,
    until: Until = None,
) -> Page[Alarm]:
    """The queue: most urgent first, then newest."""
    return await svc.alarms.list(
        scope,
        page,
        states=state,
        max_priority=min_priority,
        org_unit_id=org_unit_id,
        since=since,
        until=until,
    )


@router.get("/report/handling-times", **READ)
async def handling_times(
    scope: CallerScope,
    svc: Svc,
    org_unit_id: UnitFilter = None,
    since: Since = None,
    until: Until = None,
) -> HandlingReport:
    """Count and p50/p90 seconds to acknowledge, dispatch and close, per priority class."""
    return await svc.alarms.handling_times(scope, since=since, until=until, org_unit_id=org_unit_id)


@router.get("/{alarm_id}", **READ)
async def get_alarm(alarm_id: RowId, scope: CallerScope, svc: Svc) -> AlarmDetail:
    """One alarm with its history and the account's action plan for it."""
    return await svc.alarms.get(scope, alarm_id)


@router.post("/{alarm_id}/acknowledge", **WRITE)
async def acknowledge_alarm(alarm_id: RowId, scope: CallerScope, svc: Svc) -> Alarm:
    """Claim the alarm (409 if someone already did)."""
    return await svc.alarms.acknowledge(scope, alarm_id)


@router.post("/{alarm_id}/dispatch", **WRITE)
async def dispatch_alarm(alarm_id: RowId, order: Dispatch, scope: CallerScope, svc: Svc) -> Alarm:
    return await svc.alarms.dispatch(scope, alarm_id, order)


@router.post("/{alarm_id}/on-scene", **WRITE)
async def alarm_on_scene(alarm_id: RowId, scope: CallerScope, svc: Svc) -> Alarm:
    return await svc.alarms.on_scene(scope, alarm_id)


@router.post("/{alarm_id}/resolve", **WRITE)
async def resolve_alarm(alarm_id: RowId, outcome: Resolve, scope: CallerScope, svc: Svc) -> Alarm:
    return await svc.alarms.resolve(scope, alarm_id, outcome)


@router.post("/{alarm_id}/notes", **WRITE)
async def add_alarm_note(alarm_id: RowId, note: Note, scope: CallerScope, svc: Svc) -> Alarm:
    return await svc.alarms.add_note(scope, alarm_id, note)
