"""Users: one role each, scoped to an org unit's subtree.

A user whose org unit lies outside the caller's subtree does not exist for that caller (NotFound,
never 403); so an administrator can neither see nor create a user with a wider scope than its own.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, Literal

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.access.audit import record_change
from safecity.access.context import AccessContext
from safecity.access.models import User, UserDraft, UserPatch
from safecity.access.passwords import hash_password
from safecity.core.errors import Conflict, NotFound, ValidationFailed
from safecity.core.events import UserChanged
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Department, Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.repositories import org as org_repo
from safecity.store.tables import UserRow

UserChange = Literal["created", "updated", "deleted"]

SYSTEM: Final = Scope(user_id=0, username="system", role=Role.ADMIN, org_path="/")
_SELF_GUARDED: Final = ("role", "org_unit_id", "disabled")


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


async def unit_path(session: AsyncSession, scope: Scope, unit_id: int) -> str:
    """The org unit's path if the caller's subtree holds the unit, else NotFound."""
    unit = await org_repo.unit(session, unit_id)
    if unit is None or not scope.covers_path(unit.path):
        raise NotFound(f"org unit {unit_id} not found")
    return unit.path


async def visible_user(session: AsyncSession, scope: Scope, user_id: int) -> UserRow:
    row = await repo.user(session, user_id)
    if row is None or not scope.covers_path(row.org_path):
        raise NotFound(f"user {user_id} not found")
    return row


def _password_hash(password: SecretStr) -> str:
    return hash_password(password.get_secret_value())


class UserService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def get(self, scope: Scope, user_id: int) -> User:
        require(scope, Resource.USER, Action.READ)
        async with self._ctx.db.session() as session:
            return user_view(await visible_user(session, scope, user_id))

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
        """An administrator created without a signed-in caller (CLI, demo), audited as "system".
        Conflict if the username is taken, so running it twice changes nothing."""
        draft = UserDraft(
            username=username,
            display_name=username,
            password=SecretStr(password),
            role=Role.ADMIN,
            org_unit_id=org_unit_id,
        )
        return await self._create(SYSTEM, draft)

    async def _create(self, scope: Scope, draft: UserDraft) -> User:
        password_hash = await asyncio.to_thread(_password_hash, draft.password)
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
                locked_until=None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            await record_change(
                self._ctx,
                session,
                scope,
                action="user.create",
                target=f"user:{row.id}",
                org_path=path,
                detail=draft.model_dump(mode="json", exclude={"password"}),
            )
        await self._published(scope, row, "created")
        return user_view(row)

    async def update(self, scope: Scope, user_id: int, patch: UserPatch) -> User:
        """Change the fields the patch sets. A new password ends the user's sessions and lifts a
        lockout. Nobody may change their own role, org unit or disabled flag."""
        require(scope, Resource.USER, Action.WRITE)
        changes = _changes(patch)
        new_hash = None
        if patch.password is not None:
            new_hash = await asyncio.to_thread(_password_hash, patch.password)
        async with self._ctx.db.write() as session:
            row = await visible_user(session, scope, user_id)
            if row.id == scope.user_id and any(key in changes for key in _SELF_GUARDED):
                raise Conflict("a user may not change its own role, org unit or disabled flag")
            if "org_unit_id" in changes:
                row.org_path = await unit_path(session, scope, changes["org_unit_id"])
            role = Role(changes.get("role", row.role))
            if role is not Role.PARTNER and row.department and "department" not in changes:
                changes["department"] = None  # leaving the partner role drops the department
            department = changes.get("department", row.department)
            if (role is Role.PARTNER) != (department is not None):
                raise ValidationFailed(
                    "a partner user needs a department, and only a partner has one",
                    field="department",
                )
            for key, value in changes.items():
                setattr(row, key, value)
            if new_hash is not None:
                row.password_hash, row.failed_logins, row.locked_until = new_hash, 0, None
                await repo.revoke_tokens(session, row.id, "session")
            row.updated_at = self._ctx.clock.now()
            detail = {**changes, **({"password": "***"} if new_hash else {})}
            await record_change(
                self._ctx,
                session,
                scope,
                action="user.update",
                target=f"user:{row.id}",
                org_path=row.org_path,
                detail=detail,
            )
        await self._published(scope, row, "updated")
        return user_view(row)

    async def delete(self, scope: Scope, user_id: int) -> None:
        """Delete a user and its tokens; its audit records stay. Nobody may delete itself."""
        require(scope, Resource.USER, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await visible_user(session, scope, user_id)
            if row.id == scope.user_id:
                raise Conflict("a user may not delete itself")
            await repo.delete_tokens(session, row.id)
            await session.delete(row)
            await session.flush()
            await record_change(
                self._ctx,
                session,
                scope,
                action="user.delete",
                target=f"user:{row.id}",
                org_path=row.org_path,
                detail={"username": row.username, "role": row.role},
            )
        await self._published(scope, row, "deleted")

    async def _published(self, scope: Scope, row: UserRow, change: UserChange) -> None:
        """Tell the bus after the commit, so a subscriber never sees an uncommitted change."""
        await self._ctx.bus.publish(
            UserChanged(
                at=self._ctx.clock.now(),
                org_path=row.org_path,
                actor=scope.username,
                user_id=row.id,
                username=row.username,
                change=change,
            )
        )


def _changes(patch: UserPatch) -> dict[str, Any]:
    """The fields a patch sets to a value (password apart: it is hashed, never stored as is)."""
    return {
        key: value
        for key, value in patch.model_dump(exclude_unset=True, exclude={"password"}).items()
        if value is not None
    }
