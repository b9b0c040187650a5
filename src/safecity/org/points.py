"""Points: the surveillance and alarm sites, each under one org unit."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.errors import Conflict, NotFound
from safecity.core.events import PointChanged
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.org.journal import RegistryContext, changed_fields, record
from safecity.org.models import OwnerKind, Ownership, Point, PointDraft, PointPatch, PointTag
from safecity.org.units import visible_unit
from safecity.store.repositories import org as repo
from safecity.store.tables import PointRow

Change = Literal["created", "updated", "deleted"]


def point_view(row: PointRow) -> Point:
    return Point(
        id=row.id,
        org_unit_id=row.org_unit_id,
        org_path=row.org_path,
        code=row.code,
        name=row.name,
        address=row.address,
        lat=row.lat,
        lon=row.lon,
        tags=[PointTag(tag) for tag in row.tags],
        ownership=Ownership(row.ownership),
        owner_name=row.owner_name,
        owner_kind=OwnerKind(row.owner_kind) if row.owner_kind else None,
        public_signage=row.public_signage,
    )


async def visible_point(session: AsyncSession, scope: Scope, point_id: int) -> PointRow:
    row = await repo.point(session, point_id)
    if row is None or not scope.sees_point(row.id, row.org_path):
        raise NotFound(f"point {point_id} not found")
    return row


def new_point_row(draft: PointDraft, org_path: str, now: object) -> PointRow:
    return PointRow(
        org_unit_id=draft.org_unit_id,
        org_path=org_path,
        code=draft.code,
        name=draft.name,
        address=draft.address,
        lat=draft.lat,
        lon=draft.lon,
        tags=[str(tag) for tag in draft.tags],
        ownership=draft.ownership,
        owner_name=draft.owner_name,
        owner_kind=draft.owner_kind,
        public_signage=draft.public_signage,
        created_at=now,
        updated_at=now,
    )


class PointService:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def get(self, scope: Scope, point_id: int) -> Point:
        require(scope, Resource.POINT, Action.READ)
        async with self._ctx.db.session() as session:
            return point_view(await visible_point(session, scope, point_id))

    async def list(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        org_unit_id: int | None = None,
        tag: PointTag | None = None,
        text: str | None = None,
    ) -> Page[Point]:
        require(scope, Resource.POINT, Action.READ)
        path = "" if scope.role == "partner" else scope.org_path
        async with self._ctx.db.session() as session:
            rows, total = await repo.points(
                session,
                path=path,
                shared=scope.shared_points,
                offset=page.offset,
                limit=page.limit,
                org_unit_id=org_unit_id,
                tag=tag,
                text=text,
            )
        return Page(
            items=[point_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def create(self, scope: Scope, draft: PointDraft) -> Point:
        require(scope, Resource.POINT, Action.WRITE)
        async with self._ctx.db.write() as session:
            unit = await visible_unit(session, scope, draft.org_unit_id)
            if draft.code and await repo.point_codes(session, [draft.code]):
                raise Conflict(f"point code {draft.code} is already used")
            row = new_point_row(draft, unit.path, self._ctx.clock.now())
            session.add(row)
            await session.flush()
            await record(
                self._ctx,
                session,
                scope,
                action="point.create",
                target=f"point:{row.id}",
                org_path=row.org_path,
                detail=draft.model_dump(mode="json"),
            )
        await self._publish(row, scope, "created")
        return point_view(row)

    async def update(self, scope: Scope, point_id: int, patch: PointPatch) -> Point:
        require(scope, Resource.POINT, Action.WRITE)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        async with self._ctx.db.write() as session:
            row = await visible_point(session, scope, point_id)
            if not scope.covers_path(row.org_path):
                raise NotFound(f"point {point_id} not found")
            if "org_unit_id" in changes:
                unit = await visible_unit(session, scope, changes["org_unit_id"])
                row.org_path = unit.path
                await repo.move_point_path(session, row.id, unit.path)
            if "tags" in changes:
                changes["tags"] = sorted({str(tag) for tag in changes["tags"]})
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = self._ctx.clock.now()
            await record(
                self._ctx,
                session,
                scope,
                action="point.update",
                target=f"point:{row.id}",
                org_path=row.org_path,
                detail=changed_fields(changes),
            )
        await self._publish(row, scope, "updated")
        return point_view(row)

    async def delete(self, scope: Scope, point_id: int) -> None:
        require(scope, Resource.POINT, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await visible_point(session, scope, point_id)
            if not scope.covers_path(row.org_path):
                raise NotFound(f"point {point_id} not found")
            await repo.delete_point(session, row.id)
            await record(
                self._ctx,
                session,
                scope,
                action="point.delete",
                target=f"point:{row.id}",
                org_path=row.org_path,
                detail={"name": row.name},
            )
        await self._publish(row, scope, "deleted")

    async def _publish(self, row: PointRow, scope: Scope, change: Change) -> None:
        await self._ctx.bus.publish(
            PointChanged(
                at=self._ctx.clock.now(),
                org_path=row.org_path,
                actor=scope.username,
                point_id=row.id,
                change=change,
            )
        )
