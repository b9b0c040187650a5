"""Users, tokens and grants: the queries behind the access services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.repositories.org import in_subtree
from safecity.store.tables import GrantRow, TokenRow, UserRow


async def user(session: AsyncSession, user_id: int) -> UserRow | None:
    return await session.get(UserRow, user_id)


async def user_by_name(
    session: AsyncSession, username: str, *, lock: bool = False
) -> UserRow | None:
    """`lock` holds the row until the transaction ends (PostgreSQL; SQLite has one writer)."""
    query = select(UserRow).where(UserRow.username == username)
    return await session.scalar(query.with_for_update() if lock else query)


async def users(
    session: AsyncSession, path: str, offset: int, limit: int
) -> tuple[list[UserRow], int]:
    where = in_subtree(UserRow.org_path, path)
    total = await session.scalar(select(func.count()).select_from(UserRow).where(where))
    query = select(UserRow).where(where).order_by(UserRow.id).offset(offset).limit(limit)
    return list((await session.scalars(query)).all()), int(total or 0)


async def token(session: AsyncSession, token_id: int) -> TokenRow | None:
    return await session.get(TokenRow, token_id)


async def token_by_digest(session: AsyncSession, digest: str) -> TokenRow | None:
    return await session.scalar(select(TokenRow).where(TokenRow.digest == digest))


async def revoke_tokens(session: AsyncSession, user_id: int, kind: str) -> None:
    """Revoke every token of one kind ("session" or "api_key") the user holds."""
    await session.execute(
        update(TokenRow)
        .where(TokenRow.user_id == user_id, TokenRow.kind == kind, TokenRow.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )


async def delete_tokens(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(TokenRow).where(TokenRow.user_id == user_id))


async def grant(session: AsyncSession, grant_id: int) -> GrantRow | None:
    return await session.get(GrantRow, grant_id)


async def grant_for(session: AsyncSession, department: str, point_id: int) -> GrantRow | None:
    query = select(GrantRow).where(GrantRow.department == department, GrantRow.point_id == point_id)
    return await session.scalar(query)


async def grants(
    session: AsyncSession, path: str, offset: int, limit: int
) -> tuple[list[GrantRow], int]:
    where = in_subtree(GrantRow.org_path, path)
    total = await session.scalar(select(func.count()).select_from(GrantRow).where(where))
    query = select(GrantRow).where(where).order_by(GrantRow.id).offset(offset).limit(limit)
    return list((await session.scalars(query)).all()), int(total or 0)


async def live_grants(session: AsyncSession, department: str, now: datetime) -> Sequence[GrantRow]:
    """The department's grants that have not expired at `now`."""
    query = select(GrantRow).where(
        GrantRow.department == department,
        or_(GrantRow.expires_at.is_(None), GrantRow.expires_at > now),
    )
    return (await session.scalars(query.order_by(GrantRow.id))).all()
