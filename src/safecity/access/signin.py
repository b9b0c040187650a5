"""Sign-in with a per-source rate limit and a per-account lockout; sign-out."""

from __future__ import annotations

import collections
from datetime import UTC, timedelta
from typing import Final

from safecity.access.context import AccessContext
from safecity.access.models import IssuedToken
from safecity.access.passwords import DUMMY_HASH, verify_password
from safecity.access.tokens import digest, new_secret
from safecity.access.users import audit_change, user_view
from safecity.core.errors import AccountLocked, AuthenticationFailed, RateLimited
from safecity.core.events import UserSignedIn
from safecity.core.scope import Role, Scope
from safecity.store.repositories import access as repo
from safecity.store.tables import TokenRow

WINDOW_S: Final = 60.0
_WRONG: Final = "wrong username or password"


class SignInService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx
        self._attempts: dict[str, collections.deque[float]] = {}

    def _throttle(self, source: str | None) -> None:
        now = self._ctx.clock.monotonic()
        window = self._attempts.setdefault(source or "?", collections.deque())
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        if len(window) >= self._ctx.limits.login_per_minute:
            raise RateLimited(
                "too many sign-in attempts from this address",
                retry_after=window[0] + WINDOW_S - now,
            )
        window.append(now)

    async def sign_in(self, username: str, password: str, source: str | None) -> IssuedToken:
        self._throttle(source)
        limits, now = self._ctx.limits, self._ctx.clock.now()
        actor = Scope(
            user_id=0, username=username[:100], role=Role.VIEWER, org_path="/", source=source
        )
        async with self._ctx.db.write() as session:
            row = await repo.user_by_name(session, username)
            good = verify_password(row.password_hash if row else DUMMY_HASH, password)
            if row is None:
                await audit_change(
                    self._ctx,
                    session,
                    actor,
                    "user.signin_failed",
                    f"user:{username[:100]}",
                    "/",
                    {"reason": "unknown user"},
                )
                failure: AuthenticationFailed = AuthenticationFailed(_WRONG)
            else:
                actor = Scope(
                    user_id=row.id,
                    username=row.username,
                    role=Role(row.role),
                    org_path=row.org_path,
                    source=source,
                )
                locked_until = (
                    row.locked_until.replace(tzinfo=UTC)
                    if (row.locked_until and row.locked_until.tzinfo is None)
                    else row.locked_until
                )
                if locked_until and locked_until > now:
                    failure = AccountLocked(f"account locked until {locked_until.isoformat()}")
                    reason = "locked"
                elif row.disabled:
                    failure, reason = AuthenticationFailed(_WRONG), "disabled"
                elif not good:
                    row.failed_logins += 1
                    reason = "wrong password"
                    failure = AuthenticationFailed(_WRONG)
                    if row.failed_logins >= limits.lockout_after:
                        row.locked_until = now + timedelta(seconds=limits.lockout_s)
                        row.failed_logins = 0
                        reason = "wrong password; account locked"
                        failure = AccountLocked(
                            f"account locked until {row.locked_until.isoformat()}"
                        )
                else:
                    row.failed_logins, row.locked_until = 0, None
                    secret = new_secret()
                    expires = now + timedelta(seconds=limits.token_ttl_s)
                    session.add(
                        TokenRow(
                            digest=digest(secret),
                            user_id=row.id,
                            kind="session",
                            name="sign-in",
                            created_at=now,
                            expires_at=expires,
                            revoked=False,
                        )
                    )
                    await audit_change(
                        self._ctx, session, actor, "user.signin", f"user:{row.id}", row.org_path
                    )
                    issued = IssuedToken(token=secret, expires_at=expires, user=user_view(row))
                    reason = ""
                if reason:
                    await audit_change(
                        self._ctx,
                        session,
                        actor,
                        "user.signin_failed",
                        f"user:{row.id}",
                        row.org_path,
                        {"reason": reason},
                    )
        if row is None or reason:
            raise failure
        await self._ctx.bus.publish(
            UserSignedIn(
                at=now,
                org_path=row.org_path,
                actor=row.username,
                username=row.username,
                source=source,
            )
        )
        return issued

    async def sign_out(self, token: str, scope: Scope) -> None:
        async with self._ctx.db.write() as session:
            row = await repo.token_by_digest(session, digest(token))
            if row is not None and row.user_id == scope.user_id and not row.revoked:
                row.revoked = True
                await audit_change(
                    self._ctx,
                    session,
                    scope,
                    "user.signout",
                    f"user:{scope.user_id}",
                    scope.org_path,
                )
