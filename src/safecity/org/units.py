"""Org units as a tree with materialised paths ("/1/4/9/"). Depth is data; the default demo has
three levels: city bureau, district branches, police stations."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.errors import Conflict, NotFound, ValidationFailed
from safecity.core.events import OrgUnitChanged
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Role, Scope
from safecity.org.journal import RegistryContext, changed_fields, record
from safecity.org.models import OrgUnit, OrgUnitDraft, OrgUnitKind, OrgUnitPatch
from safecity.store.repositories import org as repo
from safecity.store.tables import OrgUnitRow

Change = Literal["created", "updated", "deleted"]


def unit_view(row: OrgUnitRow) -> OrgUnit:
    return OrgUnit(
        id=row.id,
        parent_id=row.parent_id,
        path=row.path,
        level=row.level,
        kind=OrgUnitKind(row.kind),
        name=row.name,
        centre_code=row.centre_code,
    )


def code_prefix(centre_code: str) -> str:
    """The significant part of a centre code: trailing "00" pairs dropped."""
    prefix = centre_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


async def visible_unit(session: AsyncSession, scope: Scope, unit_id: int) -> OrgUnitRow:
    """The unit if the caller's subtree holds it, else NotFound (existence never leaks)."""
    row = await repo.unit(session, unit_id)
    if row is None or not scope.covers_path(row.path):
        raise NotFound(f"org unit {unit_id} not found")
    return row


class OrgUnitService:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def get(self, scope: Scope, unit_id: int) -> OrgUnit:
        require(scope, Resource.ORG_UNIT, Action.READ)
        async with self._ctx.db.session() as session:
            return unit_view(await visible_unit(session, scope, unit_id))

    async def find_by_centre(self, scope: Scope, centre_code: str) -> OrgUnit:
        require(scope, Resource.ORG_UNIT, Action.READ)
        async with self._ctx.db.session() as session:
            row = await repo.unit_by_centre(session, centre_code)
            if row is None or not scope.covers_path(row.path):
                raise NotFound(f"no org unit has centre code {centre_code}")
            return unit_view(row)

    async def list(self, scope: Scope, page: PageRequest) -> Page[OrgUnit]:
        require(scope, Resource.ORG_UNIT, Action.READ)
        async with self._ctx.db.session() as session:
            rows, total = await repo.units(session, scope.org_path, page.offset, page.limit)
        return Page(
            items=[unit_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def create(self, scope: Scope, draft: OrgUnitDraft) -> OrgUnit:
        require(scope, Resource.ORG_UNIT, Action.WRITE)
        async with self._ctx.db.write() as session:
            if draft.parent_id is None:
                raise ValidationFailed("a new unit needs a parent unit", field="parent_id")
            parent = await visible_unit(session, scope, draft.parent_id)
            row = await self._insert(session, parent, draft)
            await record(
                self._ctx,
                session,
                scope,
                action="org_unit.create",
                target=f"org_unit:{row.id}",
                org_path=row.path,
                detail=draft.model_dump(mode="json"),
            )
        await self._publish(row, scope, "created")
        return unit_view(row)

    async def create_root(self, draft: OrgUnitDraft, *, actor: Scope) -> OrgUnit:
        """A new tree root: only for bootstrap (the CLI or the demo seed), not the API."""
        if actor.role is not Role.ADMIN:
            raise ValidationFailed("only an administrator may create a root unit")
        async with self._ctx.db.write() as session:
            row = await self._insert(session, None, draft)
            await record(
                self._ctx,
                session,
                actor,
                action="org_unit.create",
                target=f"org_unit:{row.id}",
                org_path=row.path,
                detail=draft.model_dump(mode="json"),
            )
        await self._publish(row, actor, "created")
        return unit_view(row)

    async def _insert(
        self, session: AsyncSession, parent: OrgUnitRow | None, draft: OrgUnitDraft
    ) -> OrgUnitRow:
        if await repo.unit_by_centre(session, draft.centre_code) is not None:
            raise Conflict(f"centre code {draft.centre_code} is already used by another unit")
        if parent is not None:
            prefix = code_prefix(parent.centre_code)
            if not draft.centre_code.startswith(prefix) or draft.centre_code == parent.centre_code:
                raise ValidationFailed(
                    f"centre code {draft.centre_code} must extend its parent's "
                    f"{parent.centre_code}",
                    field="centre_code",
                )
        now = self._ctx.clock.now()
        row = OrgUnitRow(
            parent_id=parent.id if parent else None,
            path="",
            level=parent.level + 1 if parent else 0,
            kind=draft.kind,
            name=draft.name,
            centre_code=draft.centre_code,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        row.path = f"{parent.path if parent else '/'}{row.id}/"
        await session.flush()
        return row

    async def update(self, scope: Scope, unit_id: int, patch: OrgUnitPatch) -> OrgUnit:
        require(scope, Resource.ORG_UNIT, Action.WRITE)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        async with self._ctx.db.write() as session:
            row = await visible_unit(session, scope, unit_id)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = self._ctx.clock.now()
            await record(
                self._ctx,
                session,
                scope,
                action="org_unit.update",
                target=f"org_unit:{row.id}",
                org_path=row.path,
                detail=changed_fields(changes),
            )
        await self._publish(row, scope, "updated")
        return unit_view(row)

    async def delete(self, scope: Scope, unit_id: int) -> None:
        require(scope, Resource.ORG_UNIT, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await visible_unit(session, scope, unit_id)
            if row.path == scope.org_path:
                raise Conflict("a user may not delete the root of its own scope")
            if await repo.unit_has_dependants(session, unit_id):
                raise Conflict(f"org unit {unit_id} still has units, points or users")
            await session.delete(row)
            await record(
                self._ctx,
                session,
                scope,
                action="org_unit.delete",
                target=f"org_unit:{row.id}",
                org_path=row.path,
                detail={"name": row.name, "centre_code": row.centre_code},
            )
        await self._publish(row, scope, "deleted")

    async def _publish(self, row: OrgUnitRow, scope: Scope, change: Change) -> None:
        await self._ctx.bus.publish(
            OrgUnitChanged(
                at=self._ctx.clock.now(),
                org_path=row.path,
                actor=scope.username,
                org_unit_id=row.id,
                change=change,
            )
        )
