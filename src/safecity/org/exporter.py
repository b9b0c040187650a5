"""Exports of the points a caller sees: CSV (re-importable), GeoJSON, and a public GeoJSON.

The CSV has the importer's columns, so an export re-imports into an empty store. The GeoJSON is
for the command centre's own maps: points with their devices' ids and names, never credentials,
hosts or stream URLs. The public GeoJSON is published to citizens: only publicly signed points,
only their name, address and tags. Every export is audited with its format and row count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.policy import Action, Resource, allowed, require
from safecity.core.scope import Role, Scope
from safecity.org.journal import RegistryContext, record
from safecity.org.sheet import quote_formula as q
from safecity.org.sheet import write_csv
from safecity.store.repositories import org as repo
from safecity.store.tables import DeviceRow, PointRow

Format = Literal["csv", "geojson", "public_geojson"]
GeoJson = dict[str, Any]


class PointExporter:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def csv(self, scope: Scope) -> str:
        """The caller's points as CSV text, header first (write it as "utf-8-sig" for Excel)."""
        require(scope, Resource.POINT, Action.READ)
        async with self._ctx.db.write() as session:
            points = await _points(session, scope)
            centre = {unit.id: unit.centre_code for unit in await repo.all_units(session)}
            await self._audit(session, scope, "csv", len(points))
        return write_csv(
            [
                centre[p.org_unit_id],
                q(p.code or ""),
                q(p.name),
                q(p.address),
                repr(p.lat),
                repr(p.lon),
                ";".join(p.tags),
                p.ownership,
                q(p.owner_name or ""),
                p.owner_kind or "",
                "yes" if p.public_signage else "no",
            ]
            for p in points
        )

    async def geojson(self, scope: Scope) -> GeoJson:
        """A FeatureCollection of the caller's points, each with its devices (ids and names)."""
        require(scope, Resource.POINT, Action.READ)
        async with self._ctx.db.write() as session:
            points = await _points(session, scope)
            centre = {unit.id: unit.centre_code for unit in await repo.all_units(session)}
            devices: dict[int, list[dict[str, Any]]] = {}
            if allowed(scope.role, Resource.DEVICE, Action.READ):
                for device in await _devices(session, scope):
                    devices.setdefault(device.point_id, []).append(_device_properties(device))
            await self._audit(session, scope, "geojson", len(points))
        features = [
            _feature(
                p,
                id=p.id,
                name=p.name,
                code=p.code,
                address=p.address,
                tags=list(p.tags),
                ownership=p.ownership,
                owner_name=p.owner_name,
                owner_kind=p.owner_kind,
                public_signage=p.public_signage,
                org_unit=centre[p.org_unit_id],
                devices=devices.get(p.id, []),
            )
            for p in points
        ]
        return {"type": "FeatureCollection", "features": features}

    async def public_geojson(self, scope: Scope) -> GeoJson:
        """Publicly signed points for citizens: location, name, address, tags, and nothing else."""
        require(scope, Resource.POINT, Action.READ)
        async with self._ctx.db.write() as session:
            points = await _points(session, scope, signage=True)
            await self._audit(session, scope, "public_geojson", len(points))
        features = [_feature(p, name=p.name, address=p.address, tags=list(p.tags)) for p in points]
        return {"type": "FeatureCollection", "features": features}

    async def _audit(self, session: AsyncSession, scope: Scope, kind: Format, count: int) -> None:
        await record(
            self._ctx,
            session,
            scope,
            action="point.export",
            target=f"points:{kind}",
            org_path=scope.org_path,
            detail={"format": kind, "count": count},
        )


def _visible(scope: Scope) -> tuple[str, frozenset[int]]:
    """(subtree path, shared ids) as the repository filters: partners have no subtree."""
    return ("" if scope.role is Role.PARTNER else scope.org_path), scope.shared_points


async def _points(
    session: AsyncSession, scope: Scope, *, signage: bool | None = None
) -> Sequence[PointRow]:
    path, shared = _visible(scope)
    return await repo.visible_points(session, path=path, shared=shared, signage=signage)


async def _devices(session: AsyncSession, scope: Scope) -> Sequence[DeviceRow]:
    path, shared = _visible(scope)
    return await repo.visible_devices(session, path=path, shared=shared)


def _device_properties(device: DeviceRow) -> dict[str, Any]:
    """What a map may show of a device: never its host, stream URL, username or secret."""
    return {"id": device.id, "gb_id": device.gb_id, "kind": device.kind, "name": device.name}


def _feature(point: PointRow, **properties: Any) -> GeoJson:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
        "properties": properties,
    }
