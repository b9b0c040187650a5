"""Org units, points and devices: the queries behind the registry services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.tables import DeviceRow, GrantRow, OrgUnitRow, PointRow, UserRow


def in_subtree(column: Any, path: str) -> ColumnElement[bool]:
    return column.startswith(path, autoescape=True)  # type: ignore[no-any-return]


async def unit(session: AsyncSession, unit_id: int) -> OrgUnitRow | None:
    return await session.get(OrgUnitRow, unit_id)


async def unit_by_centre(session: AsyncSession, centre_code: str) -> OrgUnitRow | None:
    return await session.scalar(select(OrgUnitRow).where(OrgUnitRow.centre_code == centre_code))


async def units(
    session: AsyncSession, path: str, offset: int, limit: int
) -> tuple[list[OrgUnitRow], int]:
    query = select(OrgUnitRow).where(in_subtree(OrgUnitRow.path, path))
    return await _page(session, query, OrgUnitRow.path, offset, limit)


async def all_units(session: AsyncSession) -> Sequence[OrgUnitRow]:
    return (await session.scalars(select(OrgUnitRow).order_by(OrgUnitRow.path))).all()


async def unit_has_dependants(session: AsyncSession, unit_id: int) -> bool:
    for column in (OrgUnitRow.parent_id, PointRow.org_unit_id, UserRow.org_unit_id):
        found = await session.scalar(select(column).where(column == unit_id).limit(1))
        if found is not None:
            return True
    return False


async def point(session: AsyncSession, point_id: int) -> PointRow | None:
    return await session.get(PointRow, point_id)


def _points_visible(path: str, shared: frozenset[int]) -> ColumnElement[bool]:
    if path and shared:
        return or_(in_subtree(PointRow.org_path, path), PointRow.id.in_(shared))
    if path:
        return in_subtree(PointRow.org_path, path)
    return PointRow.id.in_(shared)


async def points(
    session: AsyncSession,
    *,
    path: str,
    shared: frozenset[int],
    offset: int,
    limit: int,
    org_unit_id: int | None = None,
    tag: str | None = None,
    text: str | None = None,
    signage: bool | None = None,
) -> tuple[list[PointRow], int]:
    query = select(PointRow).where(_points_visible(path, shared))
    if org_unit_id is not None:
        query = query.where(PointRow.org_unit_id == org_unit_id)
    if signage is not None:
        query = query.where(PointRow.public_signage == signage)
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(PointRow.name.ilike(pattern), PointRow.address.ilike(pattern)))
    rows, total = await _page(session, query, PointRow.id, offset, limit if tag is None else None)
    if tag is not None:  # JSON list membership is portable only in Python
        matching = [row for row in rows if tag in row.tags]
        return matching[offset : offset + limit], len(matching)
    return rows, total


async def points_in_subtree(session: AsyncSession, path: str) -> Sequence[PointRow]:
    query = select(PointRow).where(in_subtree(PointRow.org_path, path)).order_by(PointRow.id)
    return (await session.scalars(query)).all()


async def point_codes(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        found.update(
            code
            for code in (
                await session.scalars(select(PointRow.code).where(PointRow.code.in_(chunk)))
            )
            if code is not None
        )
    return found


async def move_point_path(session: AsyncSession, point_id: int, path: str) -> None:
    await session.execute(
        update(DeviceRow).where(DeviceRow.point_id == point_id).values(org_path=path)
    )
    await session.execute(
        update(GrantRow).where(GrantRow.point_id == point_id).values(org_path=path)
    )


async def delete_point(session: AsyncSession, point_id: int) -> None:
    await session.execute(delete(GrantRow).where(GrantRow.point_id == point_id))
    await session.execute(delete(DeviceRow).where(DeviceRow.point_id == point_id))
    await session.execute(delete(PointRow).where(PointRow.id == point_id))


async def device(session: AsyncSession, device_id: int) -> DeviceRow | None:
    return await session.get(DeviceRow, device_id)


async def devices(
    session: AsyncSession,
    *,
    path: str,
    shared: frozenset[int],
    offset: int,
    limit: int,
    point_id: int | None = None,
    kind: str | None = None,
) -> tuple[list[DeviceRow], int]:
    if path and shared:
        visible = or_(in_subtree(DeviceRow.org_path, path), DeviceRow.point_id.in_(shared))
    elif path:
        visible = in_subtree(DeviceRow.org_path, path)
    else:
        visible = DeviceRow.point_id.in_(shared)
    query = select(DeviceRow).where(visible)
    if point_id is not None:
        query = query.where(DeviceRow.point_id == point_id)
    if kind is not None:
        query = query.where(DeviceRow.kind == kind)
    return await _page(session, query, DeviceRow.id, offset, limit)


async def devices_of_points(session: AsyncSession, point_ids: Sequence[int]) -> Sequence[DeviceRow]:
    query = select(DeviceRow).where(DeviceRow.point_id.in_(point_ids)).order_by(DeviceRow.id)
    return (await session.scalars(query)).all()


async def stream_devices(session: AsyncSession, kinds: Sequence[str]) -> Sequence[DeviceRow]:
    """Enabled devices of these kinds that name a stream URL, by id."""
    query = (
        select(DeviceRow)
        .where(
            DeviceRow.kind.in_(kinds),
            DeviceRow.enabled.is_(True),
            DeviceRow.stream_url.is_not(None),
        )
        .order_by(DeviceRow.id)
    )
    return (await session.scalars(query)).all()


async def onvif_devices(session: AsyncSession, kinds: Sequence[str]) -> Sequence[DeviceRow]:
    """Enabled devices of these kinds that name an ONVIF device service address, by id."""
    query = (
        select(DeviceRow)
        .where(
            DeviceRow.kind.in_(kinds),
            DeviceRow.enabled.is_(True),
            DeviceRow.onvif_url.is_not(None),
        )
        .order_by(DeviceRow.id)
    )
    return (await session.scalars(query)).all()


async def gb_ids_with_prefix(session: AsyncSession, prefix: str) -> list[str]:
    query = select(DeviceRow.gb_id).where(DeviceRow.gb_id.startswith(prefix, autoescape=True))
    return list((await session.scalars(query)).all())


async def gb_id_taken(session: AsyncSession, gb_id: str) -> bool:
    return await session.scalar(select(DeviceRow.id).where(DeviceRow.gb_id == gb_id)) is not None


async def _page(
    session: AsyncSession, query: Select[Any], order: Any, offset: int, limit: int | None
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(order)
    if limit is not None:
        ordered = ordered.offset(offset).limit(limit)
    rows = (await session.scalars(ordered)).all()
    return list(rows), int(total or 0)


async def units_by_centre(session: AsyncSession, codes: Sequence[str]) -> dict[str, OrgUnitRow]:
    """The units holding any of these centre codes, by code (unknown codes are simply absent)."""
    found: dict[str, OrgUnitRow] = {}
    for start in range(0, len(codes), 500):
        query = select(OrgUnitRow).where(OrgUnitRow.centre_code.in_(codes[start : start + 500]))
        found.update((row.centre_code, row) for row in await session.scalars(query))
    return found


async def visible_points(
    session: AsyncSession, *, path: str, shared: frozenset[int], signage: bool | None = None
) -> Sequence[PointRow]:
    """Every point in the subtree at `path` ("" for none) or in `shared`, by id (for exports)."""
    query = select(PointRow).where(_points_visible(path, shared))
    if signage is not None:
        query = query.where(PointRow.public_signage == signage)
    return (await session.scalars(query.order_by(PointRow.id))).all()


async def visible_devices(
    session: AsyncSession, *, path: str, shared: frozenset[int]
) -> Sequence[DeviceRow]:
    """Every device at a point `visible_points` returns for the same arguments, by id."""
    subtree = in_subtree(DeviceRow.org_path, path)
    if path and shared:
        visible = or_(subtree, DeviceRow.point_id.in_(shared))
    else:
        visible = subtree if path else DeviceRow.point_id.in_(shared)
    query = select(DeviceRow).where(visible).order_by(DeviceRow.id)
    return (await session.scalars(query)).all()
