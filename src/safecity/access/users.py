"""Users: one role each, scoped to an org unit's subtree."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.access.context import AccessContext
from safecity.access.models import User, UserDraft, UserPatch
from safecity.access.passwords import hash_password
from safecity.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Department, Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.repositories import audit
from safecity.store.repositories import org as org_repo
from safecity.store.tables import UserRow


def user_view(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        org_unit_id=row.org_unit_id,
        org_path=row.org_path,
        department=Department(row.department) if row.department else None,
        disabled=row.disabled,
        locked_until=row.locked_until,
    )


async def audit_change(
    ctx: AccessContext,
    session: AsyncSession,
    scope: Scope,
    action: str,
    target: str,
    org_path: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.append(
        session,
        audit.AuditEntry(
            actor=scope.username,
            action=action,
            target=target,
            org_path=org_path,
            at=ctx.clock.now(),
            source=scope.source,
            detail=detail or {},
        ),
    )


async def unit_path(session: AsyncSession, scope: Scope | None, unit_id: int) -> str:
    unit = await org_repo.unit(session, unit_id)
    if unit is None or (scope is not None and not scope.covers_path(unit.path)):
        raise NotFound(f"org unit {unit_id} not found")
    return unit.path


class UserService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def _visible(self, session: AsyncSession, scope: Scope, user_id: int) -> UserRow:
        row = await repo.user(session, user_id)
        if row is None or not scope.covers_path(row.org_path):
            raise NotFound(f"user {user_id} not found")
        return row

    async def get(self, scope: Scope, user_id: int) -> User:
        require(scope, Resource.USER, Action.READ)
        async with self._ctx.db.session() as session:
            return user_view(await self._visible(session, scope, user_id))

    async def list(self, scope: Scope, page: PageRequest) -> Page[User]:
        require(scope, Resource.USER, Action.READ)
        async with self._ctx.db.session() as session:
            rows, total = await repo.users(session, scope.org_path, page.offset, page.limit)
        return Page(
            items=[user_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def create(self, scope: Scope, draft: UserDraft) -> User:
        require(scope, Resource.USER, Action.WRITE)
        return await self._create(scope, draft)

    async def bootstrap_admin(self, username: str, password: str, org_unit_id: int) -> User:
        """The first administrator, created without a signed-in caller (CLI, demo)."""
        system = Scope(user_id=0, username="system", role=Role.ADMIN, org_path="/")
        draft = UserDraft(
            username=username,
            display_name=username,
            password=SecretStr(password),
            role=Role.ADMIN,
            org_unit_id=org_unit_id,
        )
        return await self._create(system, draft)

    async def _create(self, scope: Scope, draft: UserDraft) -> User:
        password_hash = hash_password(draft.password.get_secret_value())
        async with self._ctx.db.write() as session:
            path = await unit_path(session, scope, draft.org_unit_id)
            if await repo.user_by_name(session, draft.username) is not None:
                raise Conflict(f"username {draft.username} is taken")
            now = self._ctx.clock.now()
            row = UserRow(
                username=draft.username,
                display_name=draft.display_name,
                password_hash=password_hash,
                role=draft.role,
                org_unit_id=draft.org_unit_id,
                org_path=path,
                department=draft.department,
                disabled=False,
                failed_logins=0,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            await audit_change(
                self._ctx,
                session,
                scope,
                "user.create",
                f"user:{row.id}",
                path,
                {"username": row.username, "role": row.role, "department": row.department},
            )
        return user_view(row)

    async def update(self, scope: Scope, user_id: int, patch: UserPatch) -> User:
        require(scope, Resource.USER, Action.WRITE)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        new_hash = hash_password(patch.password.get_secret_value()) if patch.password else None
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, user_id)
            if "org_unit_id" in changes:
                row.org_path = await unit_path(session, scope, changes["org_unit_id"])
            role = Role(changes.get("role", row.role))
            department = changes.get("department", row.department)
            if (role is Role.PARTNER) != (department is not None):
                raise ValidationFailed(
                    "a partner user needs a department, and only a partner has one",
                    field="department",
                )
            if row.id == scope.user_id and changes.get("disabled"):
                raise Conflict("a user may not disable itself")
            for key, value in changes.items():
                if key != "password":
                    setattr(row, key, value)
            if new_hash is not None:
                row.password_hash = new_hash
                for token in await repo.tokens_of(session, row.id):
                    token.revoked = True
            row.updated_at = self._ctx.clock.now()
            detail = {k: ("***" if k == "password" else v) for k, v in changes.items()}
            await audit_change(
                self._ctx, session, scope, "user.update", f"user:{row.id}", row.org_path, detail
            )
        return user_view(row)

    async def delete(self, scope: Scope, user_id: int) -> None:
        require(scope, Resource.USER, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, user_id)
            if row.id == scope.user_id:
                raise PermissionDenied("a user may not delete itself")
            for token in await repo.tokens_of(session, row.id):
                await session.delete(token)
            await session.delete(row)
            await audit_change(
                self._ctx,
                session,
                scope,
                "user.delete",
                f"user:{row.id}",
                row.org_path,
                {"username": row.username},
            )
