"""Bearer tokens (sessions) and API keys: only a SHA-256 of each secret is stored. `resolve`
turns either into the caller's Scope, partners' shared points included."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from safecity.access.context import AccessContext
from safecity.access.models import ApiKeyDraft
from safecity.access.users import audit_change
from safecity.core.errors import AuthenticationFailed, NotFound
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.tables import TokenRow


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TokenService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def resolve(self, token: str, source: str | None) -> Scope:
        if not token or len(token) > 200:
            raise AuthenticationFailed("unknown or expired token")
        now = self._ctx.clock.now()
        async with self._ctx.db.session() as session:
            row = await repo.token_by_digest(session, digest(token))
            if row is None or row.revoked or (row.expires_at and _aware(row.expires_at) <= now):
                raise AuthenticationFailed("unknown or expired token")
            user = await repo.user(session, row.user_id)
            if user is None or user.disabled:
                raise AuthenticationFailed("unknown or expired token")
            rights: dict[int, frozenset[Right]] = {}
            if user.role == Role.PARTNER and user.department:
                for grant in await repo.live_grants(session, user.department, now):
                    rights[grant.point_id] = frozenset(Right(r) for r in grant.rights)
        return Scope(
            user_id=user.id,
            username=user.username,
            role=Role(user.role),
            org_path=user.org_path,
            shared_points=frozenset(rights),
            rights_by_point=rights,
            source=source,
        )

    async def create_api_key(self, scope: Scope, draft: ApiKeyDraft) -> tuple[str, int]:
        """A long-lived key acting as `draft.user_id`; returns (secret, key id)."""
        require(scope, Resource.API_KEY, Action.WRITE)
        secret = new_secret()
        async with self._ctx.db.write() as session:
            user = await repo.user(session, draft.user_id)
            if user is None or not scope.covers_path(user.org_path):
                raise NotFound(f"user {draft.user_id} not found")
            row = TokenRow(
                digest=digest(secret),
                user_id=user.id,
                kind="api_key",
                name=draft.name,
                created_at=self._ctx.clock.now(),
                expires_at=None,
                revoked=False,
            )
            session.add(row)
            await session.flush()
            await audit_change(
                self._ctx,
                session,
                scope,
                "api_key.create",
                f"api_key:{row.id}",
                user.org_path,
                {"user": user.username, "name": draft.name},
            )
        return secret, row.id

    async def revoke_api_key(self, scope: Scope, key_id: int) -> None:
        require(scope, Resource.API_KEY, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await repo.token(session, key_id)
            user = await repo.user(session, row.user_id) if row is not None else None
            if (
                row is None
                or row.kind != "api_key"
                or user is None
                or not scope.covers_path(user.org_path)
            ):
                raise NotFound(f"API key {key_id} not found")
            row.revoked = True
            await audit_change(
                self._ctx,
                session,
                scope,
                "api_key.revoke",
                f"api_key:{row.id}",
                user.org_path,
                {"user": user.username},
            )
