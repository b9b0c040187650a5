"""Bearer tokens (sessions) and API keys. Only a SHA-256 of each secret is stored; `resolve` turns
either kind into the caller's Scope, a partner's shared points and rights included."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum
from typing import Final

from safecity.access.audit import record_change
from safecity.access.context import AccessContext
from safecity.access.models import ApiKeyDraft, as_utc
from safecity.core.errors import AuthenticationFailed, NotFound
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Right, Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.tables import TokenRow

MAX_TOKEN_LENGTH: Final = 200
_UNKNOWN: Final = "unknown, expired or revoked token"


class TokenKind(StrEnum):
    SESSION = "session"
    API_KEY = "api_key"


def digest(secret: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class TokenService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def resolve(self, token: str, source: str | None) -> Scope:
        """The scope of the caller holding `token` (a session token or an API key).
        AuthenticationFailed if it is unknown, revoked or expired, or its user is disabled."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationFailed(_UNKNOWN)
        now = self._ctx.clock.now()
        async with self._ctx.db.session() as session:
            row = await repo.token_by_digest(session, digest(token))
            if row is None or row.revoked:
                raise AuthenticationFailed(_UNKNOWN)
            if row.expires_at is not None and as_utc(row.expires_at) <= now:
                raise AuthenticationFailed(_UNKNOWN)
            user = await repo.user(session, row.user_id)
            if user is None or user.disabled:
                raise AuthenticationFailed(_UNKNOWN)
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
        """A key that never expires and acts as `draft.user_id` (a user in the caller's subtree);
        returns (secret, key id). The secret is shown only here."""
        require(scope, Resource.API_KEY, Action.WRITE)
        secret = new_secret()
        async with self._ctx.db.write() as session:
            user = await repo.user(session, draft.user_id)
            if user is None or not scope.covers_path(user.org_path):
                raise NotFound(f"user {draft.user_id} not found")
            row = TokenRow(
                digest=digest(secret),
                user_id=user.id,
                kind=TokenKind.API_KEY,
                name=draft.name,
                created_at=self._ctx.clock.now(),
                expires_at=None,
                revoked=False,
            )
            session.add(row)
            await session.flush()
            await record_change(
                self._ctx,
                session,
                scope,
                action="api_key.create",
                target=f"api_key:{row.id}",
                org_path=user.org_path,
                detail={"user": user.username, "name": draft.name},
            )
        return secret, row.id

    async def revoke_api_key(self, scope: Scope, key_id: int) -> None:
        """Revoke an API key of a user in the caller's subtree (NotFound otherwise)."""
        require(scope, Resource.API_KEY, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await repo.token(session, key_id)
            user = await repo.user(session, row.user_id) if row is not None else None
            if (
                row is None
                or row.kind != TokenKind.API_KEY
                or user is None
                or not scope.covers_path(user.org_path)
            ):
                raise NotFound(f"API key {key_id} not found")
            if row.revoked:
                return
            row.revoked = True
            await record_change(
                self._ctx,
                session,
                scope,
                action="api_key.revoke",
                target=f"api_key:{row.id}",
                org_path=user.org_path,
                detail={"user": user.username, "name": row.name},
            )
