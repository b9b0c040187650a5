"""Sign-in and sign-out: tokens, the uniform failure, lockout, the per-source rate limit, audit
records and the UserSignedIn event."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from safecity.access.models import UserPatch
from safecity.access.passwords import verify_password
from safecity.core.errors import AccountLocked, AuthenticationFailed, RateLimited
from safecity.core.events import UserSignedIn
from safecity.core.scope import Role
from safecity.store.tables import TokenRow, UserRow

from .conftest import LIMITS, PASSWORD, ROOT, City

SOURCE = "10.0.0.7"


async def failures(city: City, username: str, count: int, source: str = SOURCE) -> None:
    for _ in range(count):
        with pytest.raises(AuthenticationFailed):
            await city.signin.sign_in(username, "wrong password", source)


async def user_row(city: City, username: str) -> UserRow:
    async with city.db.session() as session:
        row = await session.scalar(select(UserRow).where(UserRow.username == username))
    assert row is not None
    return row


# Success


async def test_right_password_issues_a_session_token_for_the_user(city: City) -> None:
    user = await city.add_user("alice", city.station_a)

    issued = await city.signin.sign_in("alice", PASSWORD, SOURCE)

    assert issued.user == user
    assert len(issued.token) >= 43
    assert issued.expires_at == city.clock.now() + timedelta(seconds=LIMITS.token_ttl_s)


async def test_only_the_tokens_sha256_is_stored(city: City) -> None:
    await city.add_user("alice", city.station_a)

    issued = await city.signin.sign_in("alice", PASSWORD, SOURCE)

    async with city.db.session() as session:
        rows = (await session.scalars(select(TokenRow))).all()
    assert [(r.digest, r.kind) for r in rows] == [
        (hashlib.sha256(issued.token.encode()).hexdigest(), "session")
    ]


async def test_sign_in_is_audited_and_publishes_user_signed_in(city: City) -> None:
    user = await city.add_user("alice", city.station_a)

    await city.signin.sign_in("alice", PASSWORD, SOURCE)

    last = (await city.audit_rows())[-1]
    assert (last.action, last.actor, last.target, last.source, last.org_path) == (
        "user.signin",
        "alice",
        f"user:{user.id}",
        SOURCE,
        city.station_a.path,
    )
    event = await city.published.next_of(UserSignedIn)
    assert (event.username, event.source, event.org_path) == ("alice", SOURCE, city.station_a.path)


async def test_read_model_of_a_signed_in_user_never_carries_the_hash(city: City) -> None:
    await city.add_user("alice", city.station_a)

    issued = await city.signin.sign_in("alice", PASSWORD, SOURCE)

    assert "$argon2" not in issued.model_dump_json()


# Failures


async def test_unknown_user_and_wrong_password_fail_with_the_same_message(city: City) -> None:
    await city.add_user("alice", city.station_a)

    with pytest.raises(AuthenticationFailed) as unknown:
        await city.signin.sign_in("nobody", PASSWORD, SOURCE)
    with pytest.raises(AuthenticationFailed) as wrong:
        await city.signin.sign_in("alice", "not the password", SOURCE)

    assert type(unknown.value) is type(wrong.value) is AuthenticationFailed
    assert str(unknown.value) == str(wrong.value) == "wrong username or password"


async def test_unknown_user_costs_one_argon2_verification_like_a_known_one(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    await city.add_user("alice", city.station_a)
    verified: list[str] = []

    def counting(stored_hash: str, password: str) -> bool:
        verified.append(stored_hash)
        return verify_password(stored_hash, password)

    monkeypatch.setattr("safecity.access.signin.verify_password", counting)
    for username in ("nobody", "alice"):
        with pytest.raises(AuthenticationFailed):
            await city.signin.sign_in(username, "not the password", SOURCE)

    assert len(verified) == 2
    assert all(h.startswith("$argon2id$") for h in verified)


async def test_failed_sign_ins_are_audited_with_the_reason(city: City) -> None:
    user = await city.add_user("alice", city.station_a)

    await failures(city, "alice", 1)
    await failures(city, "nobody", 1)

    rows = (await city.audit_rows())[-2:]
    assert [(r.action, r.actor, r.target, r.detail) for r in rows] == [
        ("user.signin_failed", "alice", f"user:{user.id}", {"reason": "wrong password"}),
        ("user.signin_failed", "nobody", "user:nobody", {"reason": "unknown user"}),
    ]


async def test_a_disabled_user_cannot_sign_in_even_with_the_right_password(city: City) -> None:
    user = await city.add_user("alice", city.station_a)
    await city.users.update(ROOT, user.id, UserPatch(disabled=True))

    with pytest.raises(AuthenticationFailed, match="wrong username or password"):
        await city.signin.sign_in("alice", PASSWORD, SOURCE)

    assert (await city.audit_rows())[-1].detail == {"reason": "disabled"}


# Lockout


async def test_account_locks_on_the_lockout_after_th_consecutive_failure(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after - 1)

    with pytest.raises(AccountLocked, match="account locked until"):
        await city.signin.sign_in("alice", "wrong password", SOURCE)

    row = await user_row(city, "alice")
    assert row.locked_until is not None
    locked_until = row.locked_until.replace(tzinfo=city.clock.now().tzinfo)
    assert locked_until == city.clock.now() + timedelta(seconds=LIMITS.lockout_s)


async def test_a_locked_account_refuses_the_right_password(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after)
    city.clock.advance(LIMITS.lockout_s - 1)

    with pytest.raises(AccountLocked):
        await city.signin.sign_in("alice", PASSWORD, "10.0.0.8")


async def test_a_locked_account_opens_again_after_lockout_s(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after)
    city.clock.advance(LIMITS.lockout_s)

    issued = await city.signin.sign_in("alice", PASSWORD, SOURCE)

    assert issued.user.locked_until is None


async def test_a_success_resets_the_consecutive_failure_count(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after - 1)
    await city.signin.sign_in("alice", PASSWORD, SOURCE)

    await failures(city, "alice", LIMITS.lockout_after - 1)

    assert (await user_row(city, "alice")).locked_until is None


async def test_lockout_of_one_account_leaves_others_alone(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await city.add_user("bob", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after)

    issued = await city.signin.sign_in("bob", PASSWORD, "10.0.0.8")

    assert issued.user.username == "bob"


# Rate limit


async def test_a_source_is_rate_limited_after_login_per_minute_attempts(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "nobody", LIMITS.login_per_minute)

    with pytest.raises(RateLimited) as caught:
        await city.signin.sign_in("alice", PASSWORD, SOURCE)

    assert caught.value.retry_after == pytest.approx(60.0)


async def test_the_rate_limit_counts_per_source(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "nobody", LIMITS.login_per_minute)

    issued = await city.signin.sign_in("alice", PASSWORD, "10.0.0.8")

    assert issued.user.username == "alice"


async def test_the_rate_limit_window_slides_over_sixty_seconds(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "nobody", 1)
    city.clock.advance(30)
    await failures(city, "nobody", LIMITS.login_per_minute - 1)
    city.clock.advance(29)
    with pytest.raises(RateLimited) as caught:
        await city.signin.sign_in("alice", PASSWORD, SOURCE)
    assert caught.value.retry_after == pytest.approx(1.0)

    city.clock.advance(1)  # the first attempt leaves the window; one slot frees up

    assert (await city.signin.sign_in("alice", PASSWORD, SOURCE)).user.username == "alice"
    with pytest.raises(RateLimited):
        await city.signin.sign_in("alice", PASSWORD, SOURCE)


async def test_a_rate_limited_attempt_checks_no_password_and_writes_nothing(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await failures(city, "alice", LIMITS.lockout_after - 1)
    await failures(city, "nobody", LIMITS.login_per_minute - LIMITS.lockout_after + 1)
    rows_before = len(await city.audit_rows())

    with pytest.raises(RateLimited):
        await city.signin.sign_in("alice", "wrong password", SOURCE)

    assert len(await city.audit_rows()) == rows_before
    assert (await user_row(city, "alice")).locked_until is None


# Sign-out


async def test_sign_out_revokes_the_token_and_is_audited(city: City) -> None:
    await city.add_user("alice", city.station_a)
    issued = await city.signin.sign_in("alice", PASSWORD, SOURCE)
    scope = await city.tokens.resolve(issued.token, SOURCE)

    await city.signin.sign_out(issued.token, scope)

    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(issued.token, SOURCE)
    last = (await city.audit_rows())[-1]
    assert (last.action, last.actor, last.source) == ("user.signout", "alice", SOURCE)


async def test_sign_out_leaves_another_users_token_alone(city: City) -> None:
    await city.add_user("alice", city.station_a)
    await city.add_user("bob", city.station_a, role=Role.VIEWER)
    alice = await city.signin.sign_in("alice", PASSWORD, SOURCE)
    bob = await city.signin.sign_in("bob", PASSWORD, SOURCE)
    bob_scope = await city.tokens.resolve(bob.token, SOURCE)

    await city.signin.sign_out(alice.token, bob_scope)

    assert (await city.tokens.resolve(alice.token, SOURCE)).username == "alice"
