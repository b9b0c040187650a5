"""Sign-in with a per-source rate limit and a per-account lockout; sign-out.

Every attempt costs one Argon2 verification, also for an unknown username (against a dummy hash),
and an unknown user, a wrong password and a disabled account get the same answer, so neither the
message nor the time taken tells which usernames exist. Failures are committed (counter, lockout,
audit record) before the error is raised.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.access.audit import record_change
from safecity.access.context import AccessContext
from safecity.access.models import IssuedToken, as_utc
from safecity.access.passwords import dummy_hash, needs_rehash, rehash, verify_password
from safecity.access.tokens import TokenKind, digest, new_secret
from safecity.access.users import user_view
from safecity.core.errors import AccountLocked, AuthenticationFailed, RateLimited
from safecity.core.events import UserSignedIn
from safecity.core.scope import Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.tables import TokenRow, UserRow

WINDOW_S: Final = 60.0
MAX_IDLE_SOURCES: Final = 10_000  # forget sources idle for a window once this many are known
WRONG_CREDENTIALS: Final = "wrong username or password"


@dataclass(frozen=True, slots=True)
class _Refusal:
    error: AuthenticationFailed
    reason: str  # for the audit record only; the caller sees `error`


class SignInService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx
        self._attempts: dict[str, collections.deque[float]] = {}

    async def sign_in(self, username: str, password: str, source: str | None) -> IssuedToken:
        """A session token for valid credentials. RateLimited when `source` tried too often in
        the last minute; AccountLocked while the account is locked (the failure that locks it
        included); AuthenticationFailed otherwise."""
        self._throttle(source)
        async with self._ctx.db.session() as session:
            found = await repo.user_by_name(session, username)
            stored = found.password_hash if found is not None else None
        good = await asyncio.to_thread(verify_password, stored or dummy_hash(), password)
        fresh_hash = None
        if good and stored is not None and needs_rehash(stored):
            fresh_hash = await asyncio.to_thread(rehash, password)
        now = self._ctx.clock.now()
        async with self._ctx.db.write() as session:
            row = await repo.user_by_name(session, username, lock=True)  # failure count
            refusal = self._judge(
                row, good and row is not None and row.password_hash == stored, now
            )
            if refusal is not None:
                await self._refused(session, username, row, refusal.reason, source)
            else:
                assert row is not None  # _judge refuses an unknown user
                issued = await self._issue(session, row, now, source, fresh_hash)
        if refusal is not None:
            raise refusal.error
        await self._ctx.bus.publish(
            UserSignedIn(
                at=now,
                org_path=issued.user.org_path,
                actor=issued.user.username,
                username=issued.user.username,
                source=source,
            )
        )
        return issued

    async def sign_out(self, token: str, scope: Scope) -> None:
        """Revoke the caller's own session token (a token of someone else is left alone)."""
        async with self._ctx.db.write() as session:
            row = await repo.token_by_digest(session, digest(token))
            if row is None or row.user_id != scope.user_id or row.revoked:
                return
            row.revoked = True
            await record_change(
                self._ctx,
                session,
                scope,
                action="user.signout",
                target=f"user:{scope.user_id}",
                org_path=scope.org_path,
                detail={"token": row.id},
            )

    def _throttle(self, source: str | None) -> None:
        now = self._ctx.clock.monotonic()
        key = source or ""
        window = self._attempts.get(key)
        if window is None:
            if len(self._attempts) >= MAX_IDLE_SOURCES:
                self._forget_idle(now)
            window = self._attempts[key] = collections.deque()
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        if len(window) >= self._ctx.limits.login_per_minute:
            raise RateLimited(
                "too many sign-in attempts from this address",
                retry_after=max(window[0] + WINDOW_S - now, 0.0),
            )
        window.append(now)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, w in self._attempts.items() if not w or w[-1] <= now - WINDOW_S]
        for key in idle:
            del self._attempts[key]

    def _judge(self, row: UserRow | None, password_ok: bool, now: datetime) -> _Refusal | None:
        """Why this attempt fails (counting it towards the account's lockout), or None.
        `password_ok` is False unless the password matched the account's current hash."""
        if row is None:
            return _Refusal(AuthenticationFailed(WRONG_CREDENTIALS), "unknown user")
        limits = self._ctx.limits
        locked_until = as_utc(row.locked_until) if row.locked_until is not None else None
        if locked_until is not None and locked_until > now:
            return _Refusal(AccountLocked(_locked_message(locked_until)), "locked")
        if row.disabled:
            return _Refusal(AuthenticationFailed(WRONG_CREDENTIALS), "disabled")
        if password_ok:
            return None
        row.failed_logins += 1
        if row.failed_logins < limits.lockout_after:
            return _Refusal(AuthenticationFailed(WRONG_CREDENTIALS), "wrong password")
        row.failed_logins = 0
        row.locked_until = now + timedelta(seconds=limits.lockout_s)
        return _Refusal(
            AccountLocked(_locked_message(row.locked_until)), "wrong password; account locked"
        )

    async def _issue(
        self,
        session: AsyncSession,
        row: UserRow,
        now: datetime,
        source: str | None,
        fresh_hash: str | None,
    ) -> IssuedToken:
        row.failed_logins, row.locked_until = 0, None
        if fresh_hash is not None:
            row.password_hash = fresh_hash
        secret = new_secret()
        expires = now + timedelta(seconds=self._ctx.limits.token_ttl_s)
        token = TokenRow(
            digest=digest(secret),
            user_id=row.id,
            kind=TokenKind.SESSION,
            name="sign-in",
            created_at=now,
            expires_at=expires,
            revoked=False,
        )
        session.add(token)
        await session.flush()
        await record_change(
            self._ctx,
            session,
            _actor(row.username, row, source),
            action="user.signin",
            target=f"user:{row.id}",
            org_path=row.org_path,
            detail={"token": token.id},
        )
        return IssuedToken(token=secret, expires_at=expires, user=user_view(row))

    async def _refused(
        self,
        session: AsyncSession,
        username: str,
        row: UserRow | None,
        reason: str,
        source: str | None,
    ) -> None:
        name = username[:100]
        await record_change(
            self._ctx,
            session,
            _actor(name, row, source),
            action="user.signin_failed",
            target=f"user:{row.id}" if row is not None else f"user:{name}",
            org_path=row.org_path if row is not None else "/",
            detail={"reason": reason},
        )


def _actor(username: str, row: UserRow | None, source: str | None) -> Scope:
    """Who the audit record names: the account tried, or the name typed for an unknown one."""
    if row is None:
        return Scope(user_id=0, username=username, role=Role.VIEWER, org_path="/", source=source)
    return Scope(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        org_path=row.org_path,
        source=source,
    )


def _locked_message(until: datetime) -> str:
    return f"account locked until {until.isoformat(timespec='seconds')}"
