"""The org unit tree on the real stores: codes, paths, scope, roles, and one audit record plus one
event per change."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from safecity.bus.memory import MemoryBus, MemorySubscription
from safecity.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from safecity.core.events import Event, OrgUnitChanged, UserSignedIn
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope
from safecity.org.journal import RegistryContext
from safecity.org.models import OrgUnit, OrgUnitDraft, OrgUnitKind, OrgUnitPatch, PointDraft
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox
from safecity.store.tables import AuditRow
from safecity.testing.clock import FakeClock

ROOT = Scope(user_id=1, username="root", role=Role.ADMIN, org_path="/")
ALL = PageRequest(limit=100)


class Published:
    """Everything published on the bus since it was built (a `>` subscription)."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._subscription: MemorySubscription = bus.subscribe(">")

    async def drain(self) -> list[Event]:
        """The events published since the last drain (up to a marker this publishes)."""
        marker = UserSignedIn(at=FakeClock().now(), org_path="/", username="test-marker")
        await self._bus.publish(marker)
        events: list[Event] = []
        async for delivery in self._subscription:
            if delivery.event == marker:
                return events
            events.append(delivery.event)
        raise AssertionError("the subscription closed before the marker came")


@dataclass
class Tree:
    """Shenzhen bureau > Futian and Luohu branches > three police stations."""

    ctx: RegistryContext
    units: OrgUnitService
    published: Published
    bureau: OrgUnit
    futian: OrgUnit
    luohu: OrgUnit
    futian_1: OrgUnit
    futian_2: OrgUnit
    luohu_1: OrgUnit

    def scope(self, unit: OrgUnit, role: Role = Role.ADMIN) -> Scope:
        return Scope(user_id=2, username=f"{role}-of-{unit.id}", role=role, org_path=unit.path)


def draft(
    parent: OrgUnit | None, code: str, kind: OrgUnitKind = OrgUnitKind.STATION
) -> OrgUnitDraft:
    return OrgUnitDraft(
        parent_id=parent.id if parent else None, name=f"unit {code}", kind=kind, centre_code=code
    )


@pytest.fixture
async def tree(db: Database, clock: FakeClock) -> Tree:
    bus = MemoryBus()
    ctx = RegistryContext(db=db, bus=bus, clock=clock, sealer=SecretBox(SecretBox.new_key()))
    units = OrgUnitService(ctx)
    bureau = await units.create_root(draft(None, "44030000", OrgUnitKind.BUREAU), actor=ROOT)
    futian = await units.create(ROOT, draft(bureau, "44030400", OrgUnitKind.BRANCH))
    luohu = await units.create(ROOT, draft(bureau, "44030300", OrgUnitKind.BRANCH))
    futian_1 = await units.create(ROOT, draft(futian, "44030401"))
    futian_2 = await units.create(ROOT, draft(futian, "44030402"))
    luohu_1 = await units.create(ROOT, draft(luohu, "44030301"))
    return Tree(ctx, units, Published(bus), bureau, futian, luohu, futian_1, futian_2, luohu_1)


async def audit_rows(db: Database) -> list[AuditRow]:
    async with db.session() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


# Codes, paths and levels


async def test_paths_extend_the_parents_path_by_the_id_and_levels_count_depth(tree: Tree) -> None:
    assert (tree.bureau.path, tree.bureau.parent_id) == (f"/{tree.bureau.id}/", None)
    assert tree.futian.path == f"{tree.bureau.path}{tree.futian.id}/"
    assert tree.futian_1.path == f"{tree.futian.path}{tree.futian_1.id}/"
    assert [tree.bureau.level, tree.futian.level, tree.futian_1.level] == [0, 1, 2]
    assert tree.futian_1.parent_id == tree.futian.id
    assert await tree.units.get(ROOT, tree.futian_1.id) == tree.futian_1


async def test_child_centre_code_must_extend_its_parents(tree: Tree) -> None:
    with pytest.raises(ValidationFailed, match="must extend its parent's 44030400") as caught:
        await tree.units.create(ROOT, draft(tree.futian, "44030501"))
    assert caught.value.field == "centre_code"
    # A station's code has no zero pairs left to fill, so it cannot have child units.
    with pytest.raises(ValidationFailed, match="must extend its parent's 44030401"):
        await tree.units.create(ROOT, draft(tree.futian_1, "44030403"))


async def test_station_directly_under_the_bureau_may_skip_the_branch_level(tree: Tree) -> None:
    station = await tree.units.create(ROOT, draft(tree.bureau, "44030501"))

    assert station.level == 1


async def test_duplicate_centre_code_is_a_conflict(tree: Tree) -> None:
    with pytest.raises(Conflict, match="44030401 is already used"):
        await tree.units.create(ROOT, draft(tree.futian, "44030401"))


def test_draft_rejects_a_centre_code_that_breaks_gb2260_rules() -> None:
    with pytest.raises(ValidationError, match="under an empty city level"):
        draft(None, "44000001")


async def test_new_unit_needs_a_parent(tree: Tree) -> None:
    with pytest.raises(ValidationFailed, match="needs a parent") as caught:
        await tree.units.create(ROOT, draft(None, "44030403"))

    assert caught.value.field == "parent_id"


async def test_only_an_admin_creates_a_root(tree: Tree) -> None:
    supervisor = Scope(user_id=3, username="sup", role=Role.SUPERVISOR, org_path="/")

    with pytest.raises(ValidationFailed, match="only an administrator"):
        await tree.units.create_root(draft(None, "34020000", OrgUnitKind.BUREAU), actor=supervisor)


# Scope


async def test_admin_lists_only_its_subtree(tree: Tree) -> None:
    station = await tree.units.list(tree.scope(tree.futian_1), ALL)
    branch = await tree.units.list(tree.scope(tree.futian), ALL)

    assert ([unit.id for unit in station.items], station.total) == ([tree.futian_1.id], 1)
    assert [unit.id for unit in branch.items] == [
        tree.futian.id,
        tree.futian_1.id,
        tree.futian_2.id,
    ]


async def test_root_admin_lists_pages_of_the_whole_tree(tree: Tree) -> None:
    page = await tree.units.list(ROOT, PageRequest(offset=2, limit=2))

    assert page.total == 6
    assert len(page.items) == 2
    assert (page.offset, page.limit) == (2, 2)


async def test_station_admin_gets_not_found_for_units_outside_its_station(tree: Tree) -> None:
    station_admin = tree.scope(tree.futian_1)

    with pytest.raises(NotFound):
        await tree.units.get(station_admin, tree.futian_2.id)
    with pytest.raises(NotFound):
        await tree.units.get(station_admin, tree.futian.id)  # its own parent is outside too
    with pytest.raises(NotFound):
        await tree.units.update(station_admin, tree.luohu_1.id, OrgUnitPatch(name="taken over"))
    with pytest.raises(NotFound):
        await tree.units.delete(station_admin, tree.luohu_1.id)
    with pytest.raises(NotFound):
        await tree.units.create(station_admin, draft(tree.luohu_1, "44030302"))


# Roles


async def test_roles_below_admin_may_read_but_not_write_units_in_their_scope(tree: Tree) -> None:
    for role in (Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER):
        scope = tree.scope(tree.futian, role)

        assert (await tree.units.get(scope, tree.futian_1.id)).id == tree.futian_1.id
        with pytest.raises(PermissionDenied):
            await tree.units.create(scope, draft(tree.futian, "44030403"))
        with pytest.raises(PermissionDenied):
            await tree.units.update(scope, tree.futian_1.id, OrgUnitPatch(name="renamed"))
        with pytest.raises(PermissionDenied):
            await tree.units.delete(scope, tree.futian_2.id)


async def test_partner_may_not_read_org_units(tree: Tree) -> None:
    partner = Scope(user_id=9, username="traffic", role=Role.PARTNER, org_path="/x/")

    with pytest.raises(PermissionDenied):
        await tree.units.list(partner, ALL)


# Update and delete


async def test_delete_of_a_unit_with_children_is_a_conflict(tree: Tree) -> None:
    with pytest.raises(Conflict, match="still has units, points or users"):
        await tree.units.delete(ROOT, tree.futian.id)


async def test_delete_of_a_unit_with_points_is_a_conflict(tree: Tree) -> None:
    await PointService(tree.ctx).create(
        ROOT, PointDraft(org_unit_id=tree.luohu_1.id, name="Dongmen", lat=22.54, lon=114.12)
    )

    with pytest.raises(Conflict):
        await tree.units.delete(ROOT, tree.luohu_1.id)


async def test_admin_may_not_delete_the_root_of_its_own_scope(tree: Tree) -> None:
    with pytest.raises(Conflict, match="root of its own scope"):
        await tree.units.delete(tree.scope(tree.futian_2), tree.futian_2.id)


# Audit and events


async def test_create_writes_one_audit_record_and_publishes_one_event(
    tree: Tree, db: Database, clock: FakeClock
) -> None:
    before = len(await audit_rows(db))
    clock.advance(60)

    unit = await tree.units.create(tree.scope(tree.futian), draft(tree.futian, "44030403"))

    rows = await audit_rows(db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].target, rows[-1].org_path, rows[-1].actor) == (
        "org_unit.create",
        f"org_unit:{unit.id}",
        unit.path,
        f"admin-of-{tree.futian.id}",
    )
    assert rows[-1].detail["centre_code"] == "44030403"
    assert await tree.published.drain() == [
        OrgUnitChanged(
            at=clock.now(),
            org_path=unit.path,
            actor=f"admin-of-{tree.futian.id}",
            org_unit_id=unit.id,
            change="created",
        )
    ]


async def test_update_changes_the_unit_writes_one_audit_record_and_publishes_one_event(
    tree: Tree, db: Database
) -> None:
    before = len(await audit_rows(db))

    updated = await tree.units.update(ROOT, tree.luohu.id, OrgUnitPatch(name="Luohu branch"))

    assert (updated.name, updated.centre_code, updated.path) == (
        "Luohu branch",
        "44030300",
        tree.luohu.path,
    )
    assert await tree.units.get(ROOT, tree.luohu.id) == updated
    rows = await audit_rows(db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].detail) == ("org_unit.update", {"name": "Luohu branch"})
    events = await tree.published.drain()
    assert [(type(e), e.subject, e.org_path) for e in events] == [
        (OrgUnitChanged, "org.unit.updated", tree.luohu.path)
    ]


async def test_delete_removes_the_unit_writes_one_audit_record_and_publishes_one_event(
    tree: Tree, db: Database
) -> None:
    before = len(await audit_rows(db))

    await tree.units.delete(ROOT, tree.luohu_1.id)

    with pytest.raises(NotFound):
        await tree.units.get(ROOT, tree.luohu_1.id)
    rows = await audit_rows(db)
    assert len(rows) == before + 1
    assert (rows[-1].action, rows[-1].target) == ("org_unit.delete", f"org_unit:{tree.luohu_1.id}")
    events = await tree.published.drain()
    assert [e.subject for e in events] == ["org.unit.deleted"]


async def test_refused_change_writes_no_audit_record_and_publishes_nothing(
    tree: Tree, db: Database
) -> None:
    before = len(await audit_rows(db))

    with pytest.raises(Conflict):
        await tree.units.create(ROOT, draft(tree.futian, "44030401"))

    assert len(await audit_rows(db)) == before
    assert await tree.published.drain() == []
