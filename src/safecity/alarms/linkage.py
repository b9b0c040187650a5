"""Which cameras an operator sees with an alarm, best first.

1. The zone's own cameras (`AlarmZoneRow.camera_ids`), as configured, if it lists any;
2. else the cameras installed at the account's point (up to `limit`, by id);
3. else the nearest cameras of other points within `radius_m` of the account's point (haversine),
   up to `limit`, nearest first.

An account without a point gets its zone's cameras or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms.account_snapshots import AccountFacts, ZoneFacts
from safecity.core.geo import LatLon
from safecity.store.repositories import alarms as repo

DEFAULT_RADIUS_M: Final = 300.0
DEFAULT_LIMIT: Final = 4


@dataclass(frozen=True, slots=True)
class LinkageRules:
    radius_m: float = DEFAULT_RADIUS_M
    limit: int = DEFAULT_LIMIT


async def nearest_cameras(
    session: AsyncSession, centre: LatLon, *, radius_m: float, limit: int
) -> list[int]:
    """Cameras within `radius_m` of `centre`, nearest first (ties by id), at most `limit`."""
    found = []
    for camera_id, lat, lon in await repo.cameras_near(session, centre.lat, centre.lon, radius_m):
        distance = centre.distance_m(LatLon(lat, lon))
        if distance <= radius_m:
            found.append((distance, camera_id))
    return [camera_id for _, camera_id in sorted(found)[:limit]]


async def cameras_for(
    session: AsyncSession,
    account: AccountFacts,
    zone: ZoneFacts | None,
    rules: LinkageRules | None = None,
) -> list[int]:
    """The cameras for an alarm of `account` in `zone` (None: no zone, or an unknown one)."""
    rules = rules or LinkageRules()
    if zone is not None and zone.camera_ids:
        return list(zone.camera_ids)
    if account.point_id is None:
        return []
    at_point = await repo.cameras_of_point(session, account.point_id, rules.limit)
    if at_point:
        return at_point
    location = await repo.point_location(session, account.point_id)
    if location is None:
        return []
    return await nearest_cameras(
        session, LatLon(*location), radius_m=rules.radius_m, limit=rules.limit
    )


@dataclass
class LinkageCache:
    """The same answers as `cameras_for`, for one processor batch: the cameras of every point
    in the batch are fetched in one query, the nearest ones on demand, once per point."""

    session: AsyncSession
    rules: LinkageRules
    point_cameras: dict[int, list[int]] = field(default_factory=dict)
    locations: dict[int, tuple[float, float]] = field(default_factory=dict)
    _nearest: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    async def load(
        cls, session: AsyncSession, rules: LinkageRules, point_ids: set[int]
    ) -> LinkageCache:
        return cls(
            session=session,
            rules=rules,
            point_cameras=await repo.cameras_of_points(session, point_ids, rules.limit),
            locations=await repo.point_locations(session, point_ids),
        )

    async def cameras(self, account: AccountFacts, zone: ZoneFacts | None) -> list[int]:
        if zone is not None and zone.camera_ids:
            return list(zone.camera_ids)
        point_id = account.point_id
        if point_id is None:
            return []
        if self.point_cameras.get(point_id):
            return list(self.point_cameras[point_id])
        location = self.locations.get(point_id)
        if location is None:
            return []
        if point_id not in self._nearest:
            with self.session.no_autoflush:
                self._nearest[point_id] = await nearest_cameras(
                    self.session,
                    LatLon(*location),
                    radius_m=self.rules.radius_m,
                    limit=self.rules.limit,
                )
        return list(self._nearest[point_id])
