"""What the alarm service takes and gives: operator commands in, alarm views and reports out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from safecity.alarms.lifecycle import AlarmState, Disposition


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Dispatch(_Strict):
    unit: str = Field(min_length=1, max_length=100, description="Patrol or unit sent, e.g. 'P-12'")
    eta_min: int | None = Field(
        default=None, ge=0, le=1440, description="Expected minutes until it arrives"
    )


class Resolve(_Strict):
    disposition: Disposition = Field(description="What the alarm turned out to be")
    notes: str = Field(default="", max_length=4000, description="What was found and done")


class Note(_Strict):
    text: str = Field(min_length=1, max_length=4000, description="A note for the alarm's record")


class Alarm(BaseModel):
    id: int = Field(description="Row id")
    account_id: int = Field(description="Subscriber account row id")
    account: str = Field(description="Account number")
    org_unit_id: int = Field(description="Responsible org unit")
    org_path: str = Field(description="Materialised path of the org unit")
    point_id: int | None = Field(description="Protected point")
    signal_id: int | None = Field(description="Inbox message it came from")
    source: str = Field(description="panel, supervision or schedule")
    format: str = Field(description="contact_id, sia or internal")
    code: str = Field(description="Event code")
    category: str = Field(description="Event category (fire, burglary, ...)")
    priority: int = Field(description="1 life, 2 burglary, 3 tamper, 4 trouble, 5 info")
    title_en: str = Field(description="Title in English")
    title_zh: str = Field(description="Title in Chinese")
    partition: int | None = Field(description="Partition (area) number")
    zone: int | None = Field(description="Zone number")
    user: int | None = Field(description="Panel user number")
    state: AlarmState = Field(description="Where it is in its life")
    confirmed: bool = Field(description="Sequentially confirmed (EN 50131-9)")
    escalated: bool = Field(description="Not acknowledged in time")
    raised_at: datetime = Field(description="When the centre received it")
    acknowledged_at: datetime | None = Field(description="When an operator claimed it")
    acknowledged_by: str | None = Field(description="Who claimed it")
    dispatched_at: datetime | None = Field(description="When a unit was sent")
    dispatch_unit: str | None = Field(description="The unit sent")
    dispatch_eta: datetime | None = Field(description="When the unit is expected")
    on_scene_at: datetime | None = Field(description="When the unit arrived")
    resolved_at: datetime | None = Field(description="When it was closed")
    resolved_by: str | None = Field(description="Who closed it ('system' for automatic)")
    disposition: Disposition | None = Field(description="What it turned out to be")
    notes: str = Field(description="Notes, oldest first")
    restored_at: datetime | None = Field(description="When the panel reported it restored")
    cameras: list[int] = Field(description="Linked cameras (device ids), best first")
    updated_at: datetime = Field(description="Last change")


class AlarmAction(BaseModel):
    id: int = Field(description="Row id")
    at: datetime = Field(description="When")
    actor: str = Field(description="Who ('system' for automatic)")
    action: str = Field(description="acknowledged, dispatched, on_scene, resolved, note, ...")
    detail: dict[str, Any] = Field(description="What it carried")


class AlarmDetail(Alarm):
    actions: list[AlarmAction] = Field(description="Everything done to it, in order")
    plan: list[str] = Field(description="The account's action-plan steps for this category")
    zone_name: str | None = Field(description="Where the zone's detector is")


class HandlingStats(BaseModel):
    count: int = Field(description="How many had this step")
    p50_s: float | None = Field(description="Median seconds")
    p90_s: float | None = Field(description="90th percentile seconds")


class PriorityHandling(BaseModel):
    priority: int = Field(description="Priority class")
    alarms: int = Field(description="Alarms raised in the range")
    to_acknowledge: HandlingStats = Field(description="Raised to acknowledged")
    to_dispatch: HandlingStats = Field(description="Raised to dispatched")
    to_close: HandlingStats = Field(description="Raised to resolved")


class HandlingReport(BaseModel):
    since: datetime | None = Field(description="Range start (inclusive)")
    until: datetime | None = Field(description="Range end (exclusive)")
    org_unit_id: int | None = Field(description="Subtree reported on; None = the caller's")
    by_priority: list[PriorityHandling] = Field(description="One row per priority class")
