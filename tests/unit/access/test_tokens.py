"""Resolving session tokens and API keys into a caller's Scope, partners' grants included."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from safecity.access.models import ApiKeyDraft, GrantDraft, UserPatch
from safecity.core.errors import AuthenticationFailed, NotFound, PermissionDenied
from safecity.core.scope import Department, Right, Role
from safecity.store.tables import TokenRow

from .conftest import LIMITS, PASSWORD, ROOT, City

SOURCE = "10.0.0.7"


async def signed_in(city: City, username: str = "alice") -> str:
    return (await city.signin.sign_in(username, PASSWORD, SOURCE)).token


# Session tokens


async def test_a_session_token_resolves_to_its_users_scope(city: City) -> None:
    user = await city.add_user("alice", city.station_a, Role.SUPERVISOR)

    scope = await city.tokens.resolve(await signed_in(city), SOURCE)

    assert (scope.user_id, scope.username, scope.role, scope.org_path, scope.source) == (
        user.id,
        "alice",
        Role.SUPERVISOR,
        city.station_a.path,
        SOURCE,
    )
    assert scope.shared_points == frozenset()


async def test_an_unknown_token_does_not_resolve(city: City) -> None:
    with pytest.raises(AuthenticationFailed, match="unknown, expired or revoked"):
        await city.tokens.resolve("no-such-token", SOURCE)


@pytest.mark.parametrize("token", ["", "x" * 201])
async def test_an_empty_or_overlong_token_does_not_resolve(city: City, token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, SOURCE)


async def test_a_session_token_resolves_until_just_before_it_expires(city: City) -> None:
    await city.add_user("alice", city.station_a)
    token = await signed_in(city)

    city.clock.advance(LIMITS.token_ttl_s - 1)
    assert (await city.tokens.resolve(token, SOURCE)).username == "alice"
    city.clock.advance(1)
    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, SOURCE)


async def test_a_revoked_token_does_not_resolve(city: City) -> None:
    await city.add_user("alice", city.station_a)
    token = await signed_in(city)
    async with city.db.session() as session:
        await session.execute(text("UPDATE tokens SET revoked = true"))

    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, SOURCE)


async def test_a_disabled_users_token_stops_resolving(city: City) -> None:
    user = await city.add_user("alice", city.station_a)
    token = await signed_in(city)

    await city.users.update(ROOT, user.id, UserPatch(disabled=True))

    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, SOURCE)


# API keys


async def test_an_api_key_resolves_to_its_users_scope(city: City) -> None:
    user = await city.add_user("feed", city.station_a, Role.VIEWER)

    secret, _ = await city.tokens.create_api_key(
        city.scope(city.station_a), ApiKeyDraft(user_id=user.id, name="video wall")
    )

    scope = await city.tokens.resolve(secret, SOURCE)
    assert (scope.user_id, scope.role, scope.org_path) == (user.id, Role.VIEWER, user.org_path)


async def test_an_api_key_never_expires_and_only_its_sha256_is_stored(city: City) -> None:
    user = await city.add_user("feed", city.station_a, Role.VIEWER)
    secret, key_id = await city.tokens.create_api_key(
        ROOT, ApiKeyDraft(user_id=user.id, name="video wall")
    )
    city.clock.advance(10 * 365 * 86_400)

    assert (await city.tokens.resolve(secret, SOURCE)).user_id == user.id
    async with city.db.session() as session:
        row = await session.get(TokenRow, key_id)
    assert row is not None
    assert (row.kind, row.expires_at, row.name) == ("api_key", None, "video wall")
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()


async def test_a_revoked_api_key_no_longer_resolves(city: City) -> None:
    user = await city.add_user("feed", city.station_a, Role.VIEWER)
    secret, key_id = await city.tokens.create_api_key(ROOT, ApiKeyDraft(user_id=user.id, name="k"))

    await city.tokens.revoke_api_key(city.scope(city.station_a), key_id)

    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(secret, SOURCE)


async def test_api_key_changes_are_audited_without_the_secret(city: City) -> None:
    user = await city.add_user("feed", city.station_a, Role.VIEWER)
    admin = city.scope(city.station_a)
    secret, key_id = await city.tokens.create_api_key(admin, ApiKeyDraft(user_id=user.id, name="k"))
    await city.tokens.revoke_api_key(admin, key_id)

    rows = (await city.audit_rows())[-2:]
    assert [(r.action, r.target, r.actor, r.org_path) for r in rows] == [
        ("api_key.create", f"api_key:{key_id}", admin.username, city.station_a.path),
        ("api_key.revoke", f"api_key:{key_id}", admin.username, city.station_a.path),
    ]
    assert all(secret not in str(r.detail) for r in rows)


async def test_an_api_key_for_a_user_outside_the_callers_subtree_is_not_found(
    city: City,
) -> None:
    user = await city.add_user("feed", city.station_b, Role.VIEWER)

    with pytest.raises(NotFound):
        await city.tokens.create_api_key(
            city.scope(city.station_a), ApiKeyDraft(user_id=user.id, name="k")
        )


async def test_revoking_an_api_key_outside_the_callers_subtree_is_not_found(city: City) -> None:
    user = await city.add_user("feed", city.station_b, Role.VIEWER)
    secret, key_id = await city.tokens.create_api_key(ROOT, ApiKeyDraft(user_id=user.id, name="k"))

    with pytest.raises(NotFound):
        await city.tokens.revoke_api_key(city.scope(city.station_a), key_id)
    assert (await city.tokens.resolve(secret, SOURCE)).user_id == user.id


async def test_a_session_token_cannot_be_revoked_as_an_api_key(city: City) -> None:
    await city.add_user("alice", city.station_a)
    token = await signed_in(city)
    async with city.db.session() as session:
        session_id = await session.scalar(select(TokenRow.id))
    assert session_id is not None

    with pytest.raises(NotFound):
        await city.tokens.revoke_api_key(ROOT, session_id)
    assert (await city.tokens.resolve(token, SOURCE)).username == "alice"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER, Role.PARTNER])
async def test_only_an_admin_creates_api_keys(city: City, role: Role) -> None:
    user = await city.add_user("feed", city.station_a, Role.VIEWER)

    with pytest.raises(PermissionDenied):
        await city.tokens.create_api_key(
            city.scope(city.station_a, role), ApiKeyDraft(user_id=user.id, name="k")
        )


# Partners


async def test_a_partners_scope_holds_only_granted_points_with_their_rights(city: City) -> None:
    await city.add_user("traffic", city.bureau, Role.PARTNER, Department.TRAFFIC)
    await city.grants.create(
        ROOT,
        GrantDraft(
            department=Department.TRAFFIC,
            point_id=city.point_a,
            rights=[Right.PLAYBACK, Right.LIVE],
        ),
    )

    scope = await city.tokens.resolve(await signed_in(city, "traffic"), SOURCE)

    assert scope.shared_points == {city.point_a}
    assert scope.rights_by_point == {city.point_a: {Right.LIVE, Right.PLAYBACK}}
    assert scope.has_right(city.point_a, city.station_a.path, Right.LIVE)
    assert not scope.has_right(city.point_a, city.station_a.path, Right.EXPORT)
    assert not scope.sees_point(city.point_b, city.station_b.path)
    assert not scope.covers_path(city.bureau.path)  # its own unit's subtree gives it nothing


async def test_a_partners_scope_leaves_out_other_departments_grants(city: City) -> None:
    await city.add_user("traffic", city.bureau, Role.PARTNER, Department.TRAFFIC)
    await city.grants.create(
        ROOT,
        GrantDraft(department=Department.EMERGENCY, point_id=city.point_b, rights=[Right.LIVE]),
    )

    scope = await city.tokens.resolve(await signed_in(city, "traffic"), SOURCE)

    assert scope.shared_points == frozenset()


async def test_a_partners_scope_drops_a_grant_once_it_expires(city: City) -> None:
    await city.add_user("traffic", city.bureau, Role.PARTNER, Department.TRAFFIC)
    expires = city.clock.now() + timedelta(minutes=30)
    await city.grants.create(
        ROOT,
        GrantDraft(
            department=Department.TRAFFIC,
            point_id=city.point_a,
            rights=[Right.LIVE],
            expires_at=expires,
        ),
    )
    token = await signed_in(city, "traffic")
    assert (await city.tokens.resolve(token, SOURCE)).shared_points == {city.point_a}

    city.clock.advance(30 * 60)

    assert (await city.tokens.resolve(token, SOURCE)).shared_points == frozenset()
