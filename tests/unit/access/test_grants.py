"""Sharing grants: only points in the manager's subtree, one grant per department and point."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from safecity.access.models import GrantDraft
from safecity.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from safecity.core.events import GrantChanged
from safecity.core.paging import PageRequest
from safecity.core.scope import Department, Right, Role

from .conftest import ROOT, City

ALL = PageRequest(limit=100)


def share(point_id: int, department: Department = Department.TRAFFIC) -> GrantDraft:
    return GrantDraft(department=department, point_id=point_id, rights=[Right.LIVE])


async def test_a_grant_copies_the_points_org_path_and_names_the_granter(city: City) -> None:
    supervisor = city.scope(city.station_a, Role.SUPERVISOR)

    grant = await city.grants.create(
        supervisor,
        GrantDraft(
            department=Department.TRAFFIC,
            point_id=city.point_a,
            rights=[Right.PLAYBACK, Right.LIVE, Right.LIVE],
        ),
    )

    assert (grant.point_id, grant.org_path, grant.granted_by) == (
        city.point_a,
        city.station_a.path,
        supervisor.username,
    )
    assert (grant.rights, grant.created_at, grant.expires_at) == (
        [Right.LIVE, Right.PLAYBACK],
        city.clock.now(),
        None,
    )


def test_a_grant_needs_at_least_one_right() -> None:
    with pytest.raises(ValidationError, match="rights"):
        GrantDraft(department=Department.TRAFFIC, point_id=1, rights=[])


async def test_a_grant_on_a_point_outside_the_callers_subtree_is_not_found(city: City) -> None:
    with pytest.raises(NotFound):
        await city.grants.create(city.scope(city.station_a, Role.SUPERVISOR), share(city.point_b))


async def test_a_grant_on_an_unknown_point_is_not_found(city: City) -> None:
    with pytest.raises(NotFound):
        await city.grants.create(ROOT, share(10_000))


async def test_sharing_a_point_twice_with_one_department_is_a_conflict(city: City) -> None:
    await city.grants.create(ROOT, share(city.point_a))

    with pytest.raises(Conflict, match="already shared with traffic"):
        await city.grants.create(ROOT, share(city.point_a))


async def test_one_point_may_be_shared_with_two_departments(city: City) -> None:
    first = await city.grants.create(ROOT, share(city.point_a))
    second = await city.grants.create(ROOT, share(city.point_a, Department.EMERGENCY))

    assert first.id != second.id


async def test_a_grant_that_expires_in_the_past_is_refused(city: City) -> None:
    draft = share(city.point_a).model_copy(
        update={"expires_at": city.clock.now() - timedelta(seconds=1)}
    )

    with pytest.raises(ValidationFailed) as caught:
        await city.grants.create(ROOT, draft)

    assert caught.value.field == "expires_at"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.PARTNER])
async def test_only_admins_and_supervisors_manage_grants(city: City, role: Role) -> None:
    grant = await city.grants.create(ROOT, share(city.point_a))
    caller = city.scope(city.station_a, role)

    with pytest.raises(PermissionDenied):
        await city.grants.list(caller, ALL)
    with pytest.raises(PermissionDenied):
        await city.grants.create(caller, share(city.point_a, Department.EMERGENCY))
    with pytest.raises(PermissionDenied):
        await city.grants.delete(caller, grant.id)


async def test_a_manager_lists_only_grants_on_points_in_its_subtree(city: City) -> None:
    mine = await city.grants.create(ROOT, share(city.point_a))
    await city.grants.create(ROOT, share(city.point_b))

    page = await city.grants.list(city.scope(city.station_a, Role.SUPERVISOR), ALL)

    assert (page.items, page.total) == ([mine], 1)
    assert await city.grants.get(city.scope(city.station_a, Role.SUPERVISOR), mine.id) == mine


async def test_a_grant_outside_the_callers_subtree_cannot_be_read_or_deleted(city: City) -> None:
    theirs = await city.grants.create(ROOT, share(city.point_b))
    supervisor = city.scope(city.station_a, Role.SUPERVISOR)

    with pytest.raises(NotFound):
        await city.grants.get(supervisor, theirs.id)
    with pytest.raises(NotFound):
        await city.grants.delete(supervisor, theirs.id)


async def test_a_deleted_grant_is_gone_and_the_point_may_be_shared_again(city: City) -> None:
    grant = await city.grants.create(ROOT, share(city.point_a))

    await city.grants.delete(city.scope(city.station_a, Role.SUPERVISOR), grant.id)

    assert (await city.grants.list(ROOT, ALL)).total == 0
    assert (await city.grants.create(ROOT, share(city.point_a))).point_id == city.point_a


async def test_grant_changes_are_audited_at_the_points_path(city: City) -> None:
    supervisor = city.scope(city.station_a, Role.SUPERVISOR)
    grant = await city.grants.create(supervisor, share(city.point_a))
    await city.grants.delete(supervisor, grant.id)

    rows = (await city.audit_rows())[-2:]
    assert [(r.action, r.target, r.actor, r.org_path) for r in rows] == [
        ("grant.create", f"grant:{grant.id}", supervisor.username, city.station_a.path),
        ("grant.delete", f"grant:{grant.id}", supervisor.username, city.station_a.path),
    ]
    assert rows[0].detail["department"] == "traffic"


async def test_grant_changes_are_published_after_commit(city: City) -> None:
    grant = await city.grants.create(ROOT, share(city.point_a))
    await city.grants.delete(ROOT, grant.id)

    events = [await city.published.next_of(GrantChanged) for _ in range(2)]

    assert [(e.change, e.grant_id, e.point_id, e.department) for e in events] == [
        ("created", grant.id, city.point_a, "traffic"),
        ("deleted", grant.id, city.point_a, "traffic"),
    ]
