"""Users: CRUD inside the caller's subtree (outside it, NotFound), role rules, and audit."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from safecity.access.models import ApiKeyDraft, User, UserDraft, UserPatch
from safecity.core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from safecity.core.events import UserChanged
from safecity.core.paging import PageRequest
from safecity.core.scope import Department, Role, Scope
from safecity.store.tables import TokenRow, UserRow

from .conftest import LIMITS, PASSWORD, ROOT, City

ALL = PageRequest(limit=100)


def draft(unit_id: int, username: str = "carol", **changes: object) -> UserDraft:
    fields: dict[str, object] = {
        "username": username,
        "display_name": "Carol",
        "password": SecretStr(PASSWORD),
        "role": Role.OPERATOR,
        "org_unit_id": unit_id,
    }
    return UserDraft.model_validate({**fields, **changes})


# Create and read


async def test_a_created_user_takes_its_org_units_path(city: City) -> None:
    user = await city.users.create(city.scope(city.station_a), draft(city.station_a.id))

    assert (user.username, user.role, user.org_unit_id, user.org_path) == (
        "carol",
        Role.OPERATOR,
        city.station_a.id,
        city.station_a.path,
    )
    assert (user.disabled, user.locked_until, user.department) == (False, None, None)
    assert await city.users.get(city.scope(city.station_a), user.id) == user


def test_the_user_read_model_has_no_password_field() -> None:
    assert not {"password", "password_hash"} & set(User.model_fields)


async def test_the_password_is_stored_only_as_an_argon2_hash(city: City) -> None:
    user = await city.add_user("carol", city.station_a)

    async with city.db.session() as session:
        row = await session.get(UserRow, user.id)
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash


async def test_creating_a_user_is_audited_without_the_password(city: City) -> None:
    admin = city.scope(city.station_a)

    user = await city.users.create(admin, draft(city.station_a.id))

    last = (await city.audit_rows())[-1]
    assert (last.action, last.target, last.actor, last.org_path) == (
        "user.create",
        f"user:{user.id}",
        admin.username,
        city.station_a.path,
    )
    assert "password" not in last.detail
    assert last.detail["username"] == "carol"


async def test_a_taken_username_is_a_conflict(city: City) -> None:
    await city.add_user("carol", city.station_a)

    with pytest.raises(Conflict, match="carol is taken"):
        await city.users.create(ROOT, draft(city.station_b.id))


@pytest.mark.parametrize("username", ["ab", "with space", "üser", "a" * 101, "semi;colon"])
def test_a_username_outside_3_to_100_of_the_allowed_characters_is_invalid(username: str) -> None:
    with pytest.raises(ValidationError, match="username"):
        draft(1, username)


def test_a_partner_needs_a_department_and_only_a_partner_has_one() -> None:
    with pytest.raises(ValidationError, match="partner user needs a department"):
        draft(1, role=Role.PARTNER)
    with pytest.raises(ValidationError, match="partner user needs a department"):
        draft(1, department=Department.TRAFFIC)


async def test_a_password_under_eight_characters_fails_on_the_password_field(city: City) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await city.users.create(ROOT, draft(city.station_a.id, password=SecretStr("short")))

    assert caught.value.field == "password"


async def test_a_user_in_an_unknown_org_unit_is_not_found(city: City) -> None:
    with pytest.raises(NotFound):
        await city.users.create(ROOT, draft(10_000))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER, Role.PARTNER])
async def test_only_an_admin_reads_or_changes_users(city: City, role: Role) -> None:
    user = await city.add_user("carol", city.station_a)
    caller = city.scope(city.station_a, role)

    with pytest.raises(PermissionDenied):
        await city.users.list(caller, ALL)
    with pytest.raises(PermissionDenied):
        await city.users.get(caller, user.id)
    with pytest.raises(PermissionDenied):
        await city.users.create(caller, draft(city.station_a.id, "dave"))
    with pytest.raises(PermissionDenied):
        await city.users.update(caller, user.id, UserPatch(display_name="x"))
    with pytest.raises(PermissionDenied):
        await city.users.delete(caller, user.id)


# Scope


async def test_an_admin_of_one_station_cannot_see_a_user_of_another(city: City) -> None:
    other = await city.add_user("bob", city.station_b)

    with pytest.raises(NotFound):
        await city.users.get(city.scope(city.station_a), other.id)


async def test_an_admin_lists_only_users_in_its_subtree(city: City) -> None:
    alice = await city.add_user("alice", city.station_a)
    bob = await city.add_user("bob", city.station_b)
    chief = await city.add_user("chief", city.bureau)

    page = await city.users.list(city.scope(city.station_a), ALL)
    everyone = await city.users.list(city.scope(city.bureau), ALL)

    assert (page.items, page.total) == ([alice], 1)
    assert {u.id for u in everyone.items} == {alice.id, bob.id, chief.id}


async def test_users_are_listed_a_page_at_a_time(city: City) -> None:
    for name in ("anna", "bert", "cleo"):
        await city.add_user(name, city.station_a)

    page = await city.users.list(city.scope(city.station_a), PageRequest(offset=1, limit=1))

    assert ([u.username for u in page.items], page.total) == (["bert"], 3)


async def test_an_admin_of_one_station_cannot_create_a_user_in_another(city: City) -> None:
    with pytest.raises(NotFound):
        await city.users.create(city.scope(city.station_a), draft(city.station_b.id))


async def test_an_admin_cannot_create_a_user_with_a_wider_scope_than_its_own(city: City) -> None:
    with pytest.raises(NotFound):
        await city.users.create(city.scope(city.station_a), draft(city.bureau.id))


async def test_an_admin_cannot_move_a_user_out_of_its_subtree(city: City) -> None:
    user = await city.add_user("carol", city.station_a)

    with pytest.raises(NotFound):
        await city.users.update(
            city.scope(city.station_a), user.id, UserPatch(org_unit_id=city.station_b.id)
        )


async def test_an_admin_of_one_station_cannot_change_or_delete_a_user_of_another(
    city: City,
) -> None:
    other = await city.add_user("bob", city.station_b)
    admin = city.scope(city.station_a)

    with pytest.raises(NotFound):
        await city.users.update(admin, other.id, UserPatch(display_name="x"))
    with pytest.raises(NotFound):
        await city.users.delete(admin, other.id)


# Update


async def test_an_update_changes_only_the_fields_it_sets(city: City) -> None:
    user = await city.add_user("carol", city.station_a)

    updated = await city.users.update(
        ROOT, user.id, UserPatch(display_name="Carol K", org_unit_id=city.station_b.id)
    )

    assert updated == user.model_copy(
        update={
            "display_name": "Carol K",
            "org_unit_id": city.station_b.id,
            "org_path": city.station_b.path,
        }
    )
    last = (await city.audit_rows())[-1]
    assert (last.action, last.detail) == (
        "user.update",
        {"display_name": "Carol K", "org_unit_id": city.station_b.id},
    )


async def test_a_new_password_ends_sessions_and_lifts_a_lockout(city: City) -> None:
    user = await city.add_user("carol", city.station_a)
    token = (await city.signin.sign_in("carol", PASSWORD, "a")).token
    for _ in range(LIMITS.lockout_after):
        with pytest.raises(AuthenticationFailed):
            await city.signin.sign_in("carol", "wrong password", "b")

    await city.users.update(ROOT, user.id, UserPatch(password=SecretStr("a new passphrase")))

    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, None)
    issued = await city.signin.sign_in("carol", "a new passphrase", "c")
    assert issued.user.id == user.id
    assert (await city.audit_rows())[-2].detail == {"password": "***"}


async def test_a_new_password_keeps_the_users_api_keys(city: City) -> None:
    user = await city.add_user("carol", city.station_a)
    secret, _ = await city.tokens.create_api_key(ROOT, ApiKeyDraft(user_id=user.id, name="k"))

    await city.users.update(ROOT, user.id, UserPatch(password=SecretStr("a new passphrase")))

    assert (await city.tokens.resolve(secret, None)).user_id == user.id


async def test_a_short_new_password_is_refused(city: City) -> None:
    user = await city.add_user("carol", city.station_a)

    with pytest.raises(ValidationFailed) as caught:
        await city.users.update(ROOT, user.id, UserPatch(password=SecretStr("short")))

    assert caught.value.field == "password"


async def test_leaving_the_partner_role_drops_the_department(city: City) -> None:
    user = await city.add_user("traffic", city.bureau, Role.PARTNER, Department.TRAFFIC)

    updated = await city.users.update(ROOT, user.id, UserPatch(role=Role.VIEWER))

    assert (updated.role, updated.department) == (Role.VIEWER, None)


async def test_becoming_a_partner_needs_a_department(city: City) -> None:
    user = await city.add_user("carol", city.station_a)

    with pytest.raises(ValidationFailed) as caught:
        await city.users.update(ROOT, user.id, UserPatch(role=Role.PARTNER))
    updated = await city.users.update(
        ROOT, user.id, UserPatch(role=Role.PARTNER, department=Department.EMERGENCY)
    )

    assert caught.value.field == "department"
    assert (updated.role, updated.department) == (Role.PARTNER, Department.EMERGENCY)


@pytest.mark.parametrize(
    "patch",
    [UserPatch(disabled=True), UserPatch(role=Role.VIEWER), UserPatch(org_unit_id=1)],
    ids=["disable", "demote", "move"],
)
async def test_an_admin_cannot_disable_demote_or_move_itself(city: City, patch: UserPatch) -> None:
    me = await city.add_user("chief", city.bureau, Role.ADMIN)
    scope = Scope(user_id=me.id, username="chief", role=Role.ADMIN, org_path=me.org_path)

    with pytest.raises(Conflict, match="its own"):
        await city.users.update(scope, me.id, patch)


# Delete


async def test_a_deleted_user_is_gone_with_its_tokens(city: City) -> None:
    user = await city.add_user("carol", city.station_a)
    token = (await city.signin.sign_in("carol", PASSWORD, "a")).token

    await city.users.delete(city.scope(city.station_a), user.id)

    with pytest.raises(NotFound):
        await city.users.get(ROOT, user.id)
    with pytest.raises(AuthenticationFailed):
        await city.tokens.resolve(token, None)
    async with city.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TokenRow)) == 0
    last = (await city.audit_rows())[-1]
    assert (last.action, last.target) == ("user.delete", f"user:{user.id}")


async def test_an_admin_cannot_delete_itself(city: City) -> None:
    me = await city.add_user("chief", city.bureau, Role.ADMIN)
    scope = Scope(user_id=me.id, username="chief", role=Role.ADMIN, org_path=me.org_path)

    with pytest.raises(Conflict, match="may not delete itself"):
        await city.users.delete(scope, me.id)


# Bootstrap


async def test_bootstrap_creates_an_admin_without_a_caller(city: City) -> None:
    admin = await city.users.bootstrap_admin("chief", PASSWORD, city.bureau.id)

    assert (admin.role, admin.org_path) == (Role.ADMIN, city.bureau.path)
    assert (await city.signin.sign_in("chief", PASSWORD, None)).user == admin
    first = (await city.audit_rows())[0]
    assert (first.action, first.actor) == ("user.create", "system")


async def test_bootstrap_again_with_the_same_username_is_a_conflict(city: City) -> None:
    await city.users.bootstrap_admin("chief", PASSWORD, city.bureau.id)

    with pytest.raises(Conflict):
        await city.users.bootstrap_admin("chief", "another passphrase", city.bureau.id)


async def test_user_changes_are_published_after_commit(city: City) -> None:
    user = await city.add_user("bob", city.station_a)
    await city.users.update(ROOT, user.id, UserPatch(display_name="Bob B"))
    await city.users.delete(ROOT, user.id)

    events = [await city.published.next_of(UserChanged) for _ in range(3)]

    assert [(e.change, e.user_id, e.username, e.org_path) for e in events] == [
        (change, user.id, "bob", city.station_a.path)
        for change in ("created", "updated", "deleted")
    ]
