"""Alarms, their actions and the inbox they come from: the queries behind the alarm processor,
the operator service, escalation, supervision and linkage."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.alarm_tables import (
    AlarmAccountRow,
    AlarmActionRow,
    AlarmRow,
    AlarmSignalRow,
    AlarmZoneRow,
)
from safecity.store.repositories.org import in_subtree
from safecity.store.tables import DeviceRow, PointRow, SettingRow

CURSOR_KEY: Final = "alarms.processed_signal_id"
OPEN_CLOSE_PREFIX: Final = "alarms.open_close."
RESOLVED: Final = "resolved"
_METRES_PER_DEGREE: Final = 111_320.0


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _param(value: datetime) -> datetime:
    """A bound instant in UTC: SQLite compares the stored text, which drops the offset."""
    return utc(value).astimezone(UTC)


# -- the processor's position in the inbox ------------------------------------------------------


async def cursor(session: AsyncSession, *, lock: bool = False) -> int:
    """The id of the last processed inbox row; `lock` holds it against a second processor
    until the transaction ends (PostgreSQL; SQLite serialises writers anyway)."""
    row = await session.get(SettingRow, CURSOR_KEY, with_for_update=lock)
    return 0 if row is None else int(row.value)


async def set_cursor(session: AsyncSession, signal_id: int) -> None:
    row = await session.get(SettingRow, CURSOR_KEY)
    if row is None:
        session.add(SettingRow(key=CURSOR_KEY, value=str(signal_id)))
    else:
        row.value = str(signal_id)


async def signals_after(
    session: AsyncSession, after_id: int, limit: int
) -> Sequence[AlarmSignalRow]:
    query = (
        select(AlarmSignalRow)
        .where(AlarmSignalRow.id > after_id)
        .order_by(AlarmSignalRow.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


# -- open/close state, kept as small settings rows (no schema change) ---------------------------


async def open_close_states(
    session: AsyncSession, account_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """Each account's last opening/closing: {"state": "open"|"closed", "at": iso, "user": n}."""
    if not account_ids:
        return {}
    keys = [f"{OPEN_CLOSE_PREFIX}{account_id}" for account_id in account_ids]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(keys), 500):
        query = select(SettingRow).where(SettingRow.key.in_(keys[start : start + 500]))
        for row in await session.scalars(query):
            found[int(row.key.removeprefix(OPEN_CLOSE_PREFIX))] = json.loads(row.value)
    return found


async def open_close_rows(
    session: AsyncSession, account_ids: Collection[int]
) -> dict[int, SettingRow]:
    """The settings rows holding these accounts' open/close state (to update in place)."""
    keys = [f"{OPEN_CLOSE_PREFIX}{account_id}" for account_id in account_ids]
    found: dict[int, SettingRow] = {}
    for start in range(0, len(keys), 500):
        query = select(SettingRow).where(SettingRow.key.in_(keys[start : start + 500]))
        for row in await session.scalars(query):
            found[int(row.key.removeprefix(OPEN_CLOSE_PREFIX))] = row
    return found


def open_close_row(account_id: int, state: dict[str, Any]) -> SettingRow:
    return SettingRow(
        key=f"{OPEN_CLOSE_PREFIX}{account_id}", value=json.dumps(state, sort_keys=True)
    )


async def set_open_close_state(
    session: AsyncSession, account_id: int, state: dict[str, Any]
) -> None:
    key = f"{OPEN_CLOSE_PREFIX}{account_id}"
    value = json.dumps(state, sort_keys=True)
    row = await session.get(SettingRow, key)
    if row is None:
        session.add(SettingRow(key=key, value=value))
    else:
        row.value = value


# -- accounts and zones -------------------------------------------------------------------------


async def accounts_by_number(
    session: AsyncSession, numbers: Collection[str]
) -> dict[str, AlarmAccountRow]:
    found: dict[str, AlarmAccountRow] = {}
    listed = sorted(numbers)
    for start in range(0, len(listed), 500):
        query = select(AlarmAccountRow).where(
            AlarmAccountRow.account.in_(listed[start : start + 500])
        )
        found.update((row.account, row) for row in await session.scalars(query))
    return found


async def zones_by_account(
    session: AsyncSession, account_ids: Collection[int]
) -> dict[tuple[int, int], AlarmZoneRow]:
    """Zones keyed by (account id, zone number)."""
    found: dict[tuple[int, int], AlarmZoneRow] = {}
    listed = sorted(account_ids)
    for start in range(0, len(listed), 500):
        query = select(AlarmZoneRow).where(AlarmZoneRow.account_id.in_(listed[start : start + 500]))
        found.update(((row.account_id, row.number), row) for row in await session.scalars(query))
    return found


async def zones_by_pair(
    session: AsyncSession, pairs: Collection[tuple[int, int]]
) -> dict[tuple[int, int], AlarmZoneRow]:
    """The zones named by (account id, zone number) pairs, keyed the same way."""
    found: dict[tuple[int, int], AlarmZoneRow] = {}
    wanted = set(pairs)
    accounts = sorted({account_id for account_id, _ in wanted})
    numbers = sorted({number for _, number in wanted})
    for start in range(0, len(accounts), 500):
        query = select(AlarmZoneRow).where(
            AlarmZoneRow.account_id.in_(accounts[start : start + 500]),
            AlarmZoneRow.number.in_(numbers),  # a superset of the pairs; kept exactly below
        )
        for row in await session.scalars(query):
            if (row.account_id, row.number) in wanted:
                found[(row.account_id, row.number)] = row
    return found


async def supervised_accounts(session: AsyncSession) -> Sequence[AlarmAccountRow]:
    """Enabled accounts (the caller keeps those with a poll interval or opening hours: JSON
    emptiness is not portable SQL)."""
    query = select(AlarmAccountRow).where(AlarmAccountRow.enabled.is_(True))
    return (await session.scalars(query.order_by(AlarmAccountRow.id))).all()


# -- alarms -------------------------------------------------------------------------------------


async def alarm(session: AsyncSession, alarm_id: int) -> AlarmRow | None:
    return await session.get(AlarmRow, alarm_id)


@dataclass(frozen=True)
class Restorable:
    """Which unresolved alarms a batch of signals may touch (see `unresolved_of_accounts`)."""

    account_ids: Collection[int]
    recent: datetime  # burglary alarms raised since then may still be confirmed ...
    confirming: Collection[int] = ()  # ... by a new burglary alarm of these accounts
    restores: Collection[tuple[int, int | None, str]] = ()  # (account id, zone, category)
    marker: tuple[str, str] | None = None  # (source, code) of alarms any message restores


async def unresolved_of_accounts(session: AsyncSession, wanted: Restorable) -> list[AlarmRow]:
    """The unresolved alarms a batch may change, oldest first per account: those a restore in it
    may close (not yet restored, same account, zone and category), burglary alarms confirmation
    may still pair (raised since `recent`, on an account with a new burglary alarm), and
    unrestored alarms with the `marker` source and code (communication failures, which any
    message from the account ends). Never the rest: an
    account with thousands of open alarms during a flood costs a batch nothing extra."""
    found: list[AlarmRow] = []
    listed = sorted(wanted.account_ids)
    confirming = sorted(wanted.confirming)
    confirming_set = set(confirming)
    zones = {zone for _, zone, _ in wanted.restores}
    categories = {category for _, _, category in wanted.restores}
    pairs = {(account, zone, category) for account, zone, category in wanted.restores}
    for start in range(0, len(listed), 500):
        terms: list[ColumnElement[bool]] = []
        if confirming:
            terms.append(
                and_(
                    AlarmRow.account_id.in_(confirming),
                    AlarmRow.category == "burglary",
                    AlarmRow.raised_at >= _param(wanted.recent),
                )
            )
        if wanted.marker is not None:
            source, code = wanted.marker
            terms.append(
                and_(
                    AlarmRow.source == source,
                    AlarmRow.code == code,
                    AlarmRow.restored_at.is_(None),
                )
            )
        if pairs:
            zone_terms: list[ColumnElement[bool]] = []
            if None in zones:
                zone_terms.append(AlarmRow.zone.is_(None))
            if numbered := [zone for zone in zones if zone is not None]:
                zone_terms.append(AlarmRow.zone.in_(numbered))
            terms.append(
                and_(
                    AlarmRow.restored_at.is_(None),
                    AlarmRow.category.in_(sorted(categories)),
                    or_(*zone_terms),
                )
            )
        if not terms:
            break
        query = (
            select(AlarmRow)
            .where(
                AlarmRow.account_id.in_(listed[start : start + 500]),
                AlarmRow.state != RESOLVED,
                or_(*terms),
            )
            .order_by(AlarmRow.id)
        )
        for row in await session.scalars(query):
            if (
                (
                    row.account_id in confirming_set
                    and row.category == "burglary"
                    and utc(row.raised_at) >= wanted.recent
                )
                or (wanted.marker is not None and (row.source, row.code) == wanted.marker)
                or (row.account_id, row.zone, row.category) in pairs
            ):
                found.append(row)
    return found


async def open_for_restore(
    session: AsyncSession, account_id: int, zone: int | None, category: str
) -> Sequence[AlarmRow]:
    """Unrestored, unresolved alarms of an account+zone+code family (its category)."""
    query = select(AlarmRow).where(
        AlarmRow.account_id == account_id,
        AlarmRow.category == category,
        AlarmRow.zone.is_(None) if zone is None else AlarmRow.zone == zone,
        AlarmRow.restored_at.is_(None),
        AlarmRow.state != RESOLVED,
    )
    return (await session.scalars(query.order_by(AlarmRow.id))).all()


def visible_alarms(path: str, alarm_points: frozenset[int]) -> ColumnElement[bool]:
    """Alarms in the subtree at `path` ("" for none) or at one of `alarm_points`."""
    clauses: list[ColumnElement[bool]] = []
    if path:
        clauses.append(in_subtree(AlarmRow.org_path, path))
    if alarm_points:
        clauses.append(AlarmRow.point_id.in_(sorted(alarm_points)))
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _filters(
    path: str,
    alarm_points: frozenset[int],
    *,
    subtree: str | None,
    states: Collection[str] | None,
    max_priority: int | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    where = [visible_alarms(path, alarm_points)]
    if subtree:
        where.append(in_subtree(AlarmRow.org_path, subtree))
    if states:
        where.append(AlarmRow.state.in_(sorted(states)))
    if max_priority is not None:
        where.append(AlarmRow.priority <= max_priority)
    if since is not None:
        where.append(AlarmRow.raised_at >= _param(since))
    if until is not None:
        where.append(AlarmRow.raised_at < _param(until))
    return where


async def alarms(
    session: AsyncSession,
    *,
    path: str,
    alarm_points: frozenset[int],
    offset: int,
    limit: int,
    subtree: str | None = None,
    states: Collection[str] | None = None,
    max_priority: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AlarmRow], int]:
    """A page of visible alarms, most urgent first, then newest first."""
    where = _filters(
        path,
        alarm_points,
        subtree=subtree,
        states=states,
        max_priority=max_priority,
        since=since,
        until=until,
    )
    total = await session.scalar(select(func.count()).select_from(AlarmRow).where(*where))
    query = (
        select(AlarmRow)
        .where(*where)
        .order_by(AlarmRow.priority, AlarmRow.raised_at.desc(), AlarmRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(query)).all()), int(total or 0)


async def handling_rows(
    session: AsyncSession,
    *,
    path: str,
    alarm_points: frozenset[int],
    subtree: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Sequence[tuple[int, datetime, datetime | None, datetime | None, datetime | None]]:
    """(priority, raised, acknowledged, dispatched, resolved) of the visible alarms raised in
    the range, for the handling-time report."""
    where = _filters(
        path,
        alarm_points,
        subtree=subtree,
        states=None,
        max_priority=None,
        since=since,
        until=until,
    )
    query = select(
        AlarmRow.priority,
        AlarmRow.raised_at,
        AlarmRow.acknowledged_at,
        AlarmRow.dispatched_at,
        AlarmRow.resolved_at,
    ).where(*where)
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def counts_by_state(
    session: AsyncSession, *, path: str, alarm_points: frozenset[int]
) -> dict[str, int]:
    query = (
        select(AlarmRow.state, func.count())
        .where(visible_alarms(path, alarm_points))
        .group_by(AlarmRow.state)
    )
    return {state: int(count) for state, count in (await session.execute(query)).all()}


async def actions_of(session: AsyncSession, alarm_id: int) -> Sequence[AlarmActionRow]:
    query = select(AlarmActionRow).where(AlarmActionRow.alarm_id == alarm_id)
    return (await session.scalars(query.order_by(AlarmActionRow.id))).all()


async def unacknowledged_before(
    session: AsyncSession, raised_before: datetime
) -> Sequence[AlarmRow]:
    """New, not yet escalated alarms raised before the given instant, oldest first."""
    query = select(AlarmRow).where(
        AlarmRow.state == "new",
        AlarmRow.escalated.is_(False),
        AlarmRow.raised_at <= _param(raised_before),
    )
    return (await session.scalars(query.order_by(AlarmRow.id))).all()


async def latest_alarm_since(
    session: AsyncSession, account_id: int, *, source: str, code: str, since: datetime
) -> AlarmRow | None:
    """The newest alarm of this account, source and code raised after `since`."""
    query = (
        select(AlarmRow)
        .where(
            AlarmRow.account_id == account_id,
            AlarmRow.source == source,
            AlarmRow.code == code,
            AlarmRow.raised_at > _param(since),
        )
        .order_by(AlarmRow.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


# -- cameras for linkage ------------------------------------------------------------------------


async def cameras_of_point(session: AsyncSession, point_id: int, limit: int) -> list[int]:
    query = (
        select(DeviceRow.id)
        .where(
            DeviceRow.point_id == point_id,
            DeviceRow.kind == "camera",
            DeviceRow.enabled.is_(True),
        )
        .order_by(DeviceRow.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def cameras_near(
    session: AsyncSession, lat: float, lon: float, radius_m: float
) -> list[tuple[int, float, float]]:
    """(camera id, its point's lat, lon) for enabled cameras at points inside the bounding box
    of a circle of `radius_m` around (lat, lon); the caller measures the exact distance."""
    d_lat = radius_m / _METRES_PER_DEGREE
    d_lon = radius_m / (_METRES_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
    query = (
        select(DeviceRow.id, PointRow.lat, PointRow.lon)
        .join(PointRow, PointRow.id == DeviceRow.point_id)
        .where(
            DeviceRow.kind == "camera",
            DeviceRow.enabled.is_(True),
            and_(PointRow.lat >= lat - d_lat, PointRow.lat <= lat + d_lat),
            and_(PointRow.lon >= lon - d_lon, PointRow.lon <= lon + d_lon),
        )
    )
    return [(int(i), float(a), float(o)) for i, a, o in (await session.execute(query)).all()]


async def cameras_of_points(
    session: AsyncSession, point_ids: Collection[int], limit: int
) -> dict[int, list[int]]:
    """Each point's enabled cameras by id, at most `limit` each (points without any map to [])."""
    found: dict[int, list[int]] = {point_id: [] for point_id in point_ids}
    listed = sorted(point_ids)
    for start in range(0, len(listed), 500):
        query = (
            select(DeviceRow.point_id, DeviceRow.id)
            .where(
                DeviceRow.point_id.in_(listed[start : start + 500]),
                DeviceRow.kind == "camera",
                DeviceRow.enabled.is_(True),
            )
            .order_by(DeviceRow.point_id, DeviceRow.id)
        )
        for point_id, camera_id in (await session.execute(query)).all():
            if len(found[point_id]) < limit:
                found[point_id].append(camera_id)
    return found


async def point_locations(
    session: AsyncSession, point_ids: Collection[int]
) -> dict[int, tuple[float, float]]:
    found: dict[int, tuple[float, float]] = {}
    listed = sorted(point_ids)
    for start in range(0, len(listed), 500):
        query = select(PointRow.id, PointRow.lat, PointRow.lon).where(
            PointRow.id.in_(listed[start : start + 500])
        )
        found.update((i, (lat, lon)) for i, lat, lon in (await session.execute(query)).all())
    return found


async def point_location(session: AsyncSession, point_id: int) -> tuple[float, float] | None:
    row = await session.get(PointRow, point_id)
    return None if row is None else (row.lat, row.lon)
