"""The facts an alarm change leaves behind: its action row (in the change's transaction) and the
event published after the commit. Shared by the operator service and the automatic parts
(processor, confirmation, escalation, supervision)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.events import AlarmChange, AlarmChanged, AlarmRaised
from safecity.store.alarm_tables import AlarmActionRow, AlarmRow

SYSTEM: Final = "system"


def add_action(
    session: AsyncSession,
    alarm_id: int,
    at: datetime,
    actor: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one action row to an alarm's history (inside the caller's transaction)."""
    session.add(
        AlarmActionRow(alarm_id=alarm_id, at=at, actor=actor, action=action, detail=detail or {})
    )


def changed(row: AlarmRow, change: AlarmChange, at: datetime, actor: str) -> AlarmChanged:
    return AlarmChanged(
        at=at,
        org_path=row.org_path,
        actor=actor,
        alarm_id=row.id,
        point_id=row.point_id,
        change=change,
        state=row.state,
        priority=row.priority,
        confirmed=row.confirmed,
    )


def raised(
    row: AlarmRow,
    *,
    zone_name: str | None = None,
    location: tuple[float, float] | None = None,
) -> AlarmRaised:
    return AlarmRaised(
        at=row.raised_at,
        org_path=row.org_path,
        actor=SYSTEM,
        alarm_id=row.id,
        account=row.account,
        point_id=row.point_id,
        source=row.source,
        code=row.code,
        category=row.category,
        priority=row.priority,
        title_en=row.title_en,
        title_zh=row.title_zh,
        partition=row.partition,
        zone=row.zone,
        zone_name=zone_name,
        confirmed=row.confirmed,
        cameras=list(row.cameras),
        lat=None if location is None else location[0],
        lon=None if location is None else location[1],
    )
