"""Alarm subscriber accounts and their zones: the queries behind the account service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow, AlarmZoneRow
from safecity.store.repositories.org import in_subtree
from safecity.store.tables import PointRow, SettingRow

VERSION_KEY: Final = "alarms.accounts_version"


async def touch_accounts(session: AsyncSession) -> None:
    """Say, in the writer's transaction, that accounts or zones changed: the alarm processor
    keeps snapshots of them until this moves (`alarms.account_snapshots`)."""
    row = await session.get(SettingRow, VERSION_KEY, with_for_update=True)
    if row is None:
        session.add(SettingRow(key=VERSION_KEY, value="1"))
    else:
        row.value = str(int(row.value) + 1)


async def account(session: AsyncSession, account_id: int) -> AlarmAccountRow | None:
    return await session.get(AlarmAccountRow, account_id)


async def account_by_number(session: AsyncSession, number: str) -> AlarmAccountRow | None:
    return await session.scalar(select(AlarmAccountRow).where(AlarmAccountRow.account == number))


async def taken_numbers(session: AsyncSession, numbers: Sequence[str]) -> set[str]:
    """Which of these account numbers the store already holds."""
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        query = select(AlarmAccountRow.account).where(AlarmAccountRow.account.in_(chunk))
        found.update(await session.scalars(query))
    return found


async def accounts(
    session: AsyncSession,
    *,
    path: str,
    offset: int,
    limit: int,
    point_id: int | None = None,
    text: str | None = None,
) -> tuple[list[AlarmAccountRow], int]:
    query = select(AlarmAccountRow).where(in_subtree(AlarmAccountRow.org_path, path))
    if point_id is not None:
        query = query.where(AlarmAccountRow.point_id == point_id)
    if text:
        pattern = f"%{text}%"
        query = query.where(
            or_(AlarmAccountRow.account.ilike(pattern), AlarmAccountRow.name.ilike(pattern))
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(AlarmAccountRow.id).offset(offset).limit(limit)
    return list((await session.scalars(ordered)).all()), int(total or 0)


async def enabled_accounts(session: AsyncSession) -> Sequence[AlarmAccountRow]:
    query = select(AlarmAccountRow).where(AlarmAccountRow.enabled.is_(True))
    return (await session.scalars(query.order_by(AlarmAccountRow.id))).all()


async def zones_of(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, list[AlarmZoneRow]]:
    """Each account's zones by number (accounts without zones map to an empty list)."""
    found: dict[int, list[AlarmZoneRow]] = {account_id: [] for account_id in account_ids}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        query = (
            select(AlarmZoneRow)
            .where(AlarmZoneRow.account_id.in_(chunk))
            .order_by(AlarmZoneRow.account_id, AlarmZoneRow.number)
        )
        for row in await session.scalars(query):
            found[row.account_id].append(row)
    return found


async def delete_zones(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(AlarmZoneRow).where(AlarmZoneRow.account_id == account_id))


async def has_alarms(session: AsyncSession, account_id: int) -> bool:
    query = select(AlarmRow.id).where(AlarmRow.account_id == account_id).limit(1)
    return await session.scalar(query) is not None


async def delete_account(session: AsyncSession, account_id: int) -> None:
    await delete_zones(session, account_id)
    await session.execute(delete(AlarmAccountRow).where(AlarmAccountRow.id == account_id))


async def points_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, PointRow]:
    """The points holding any of these codes, by code (unknown codes are simply absent)."""
    found: dict[str, PointRow] = {}
    for start in range(0, len(codes), 500):
        query = select(PointRow).where(PointRow.code.in_(codes[start : start + 500]))
        found.update((row.code, row) for row in await session.scalars(query) if row.code)
    return found
