"""Sharing grants: one point shared with a partner department, with chosen rights, until revoked
or until it expires. The point must lie in the granting manager's subtree."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.exc import IntegrityError

from safecity.access.audit import record_change
from safecity.access.context import AccessContext
from safecity.access.models import Grant, GrantDraft
from safecity.core.errors import Conflict, NotFound, ValidationFailed
from safecity.core.events import GrantChanged
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Department, Right, Scope
from safecity.store.repositories import access as repo
from safecity.store.repositories import org as org_repo
from safecity.store.tables import GrantRow

GrantChange = Literal["created", "updated", "deleted"]


def grant_view(row: GrantRow) -> Grant:
    return Grant(
        id=row.id,
        department=Department(row.department),
        point_id=row.point_id,
        org_path=row.org_path,
        rights=[Right(r) for r in row.rights],
        granted_by=row.granted_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class GrantService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def list(self, scope: Scope, page: PageRequest) -> Page[Grant]:
        """Grants on points in the caller's subtree, expired ones included."""
        require(scope, Resource.GRANT, Action.READ)
        async with self._ctx.db.session() as session:
            rows, total = await repo.grants(session, scope.org_path, page.offset, page.limit)
        return Page(
            items=[grant_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def get(self, scope: Scope, grant_id: int) -> Grant:
        require(scope, Resource.GRANT, Action.READ)
        async with self._ctx.db.session() as session:
            row = await repo.grant(session, grant_id)
            if row is None or not scope.covers_path(row.org_path):
                raise NotFound(f"grant {grant_id} not found")
            return grant_view(row)

    async def create(self, scope: Scope, draft: GrantDraft) -> Grant:
        """Share a point in the caller's subtree (NotFound otherwise) with a department;
        Conflict if that department already has a grant on the point."""
        require(scope, Resource.GRANT, Action.WRITE)
        now = self._ctx.clock.now()
        if draft.expires_at is not None and draft.expires_at <= now:
            raise ValidationFailed("a grant must expire in the future", field="expires_at")
        async with self._ctx.db.write() as session:
            point = await org_repo.point(session, draft.point_id)
            if point is None or not scope.covers_path(point.org_path):
                raise NotFound(f"point {draft.point_id} not found")
            if await repo.grant_for(session, draft.department, point.id) is not None:
                raise Conflict(f"point {point.id} is already shared with {draft.department}")
            row = GrantRow(
                department=draft.department,
                point_id=point.id,
                org_path=point.org_path,
                rights=[str(r) for r in draft.rights],
                granted_by=scope.username,
                created_at=now,
                expires_at=draft.expires_at,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError as exc:  # a concurrent grant won the race (PostgreSQL)
                raise Conflict(
                    f"point {point.id} is already shared with {draft.department}"
                ) from exc
            await record_change(
                self._ctx,
                session,
                scope,
                action="grant.create",
                target=f"grant:{row.id}",
                org_path=row.org_path,
                detail=draft.model_dump(mode="json"),
            )
        await self._published(scope, row, "created")
        return grant_view(row)

    async def delete(self, scope: Scope, grant_id: int) -> None:
        """Revoke a grant on a point in the caller's subtree (NotFound otherwise)."""
        require(scope, Resource.GRANT, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await repo.grant(session, grant_id)
            if row is None or not scope.covers_path(row.org_path):
                raise NotFound(f"grant {grant_id} not found")
            await session.delete(row)
            await session.flush()
            await record_change(
                self._ctx,
                session,
                scope,
                action="grant.delete",
                target=f"grant:{row.id}",
                org_path=row.org_path,
                detail={"department": row.department, "point_id": row.point_id},
            )
        await self._published(scope, row, "deleted")

    async def _published(self, scope: Scope, row: GrantRow, change: GrantChange) -> None:
        await self._ctx.bus.publish(
            GrantChanged(
                at=self._ctx.clock.now(),
                org_path=row.org_path,
                actor=scope.username,
                grant_id=row.id,
                department=row.department,
                point_id=row.point_id,
                change=change,
            )
        )
