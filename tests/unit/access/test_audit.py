"""The audit trail: scoped listing, records for later features, and a chain verification that
names the first record removed, altered or moved (tampering done with raw SQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from safecity.core.errors import PermissionDenied
from safecity.core.paging import PageRequest
from safecity.core.scope import Role, Scope

from .conftest import ROOT, City

ALL = PageRequest(limit=100)


async def five_records(city: City) -> None:
    """Records 1-5, each with its own actor, action and target."""
    for seq in range(1, 6):
        path = (city.station_a if seq % 2 else city.station_b).path
        scope = Scope(user_id=seq, username=f"user{seq}", role=Role.OPERATOR, org_path=path)
        await city.audit.record(scope, f"video.live{seq}", f"point:{seq}", path, {"n": seq})
        city.clock.advance(1)


async def tamper(city: City, *statements: str) -> None:
    async with city.db.session() as session:
        for statement in statements:
            await session.execute(text(statement))


# Verification


async def test_an_empty_chain_verifies(city: City) -> None:
    report = await city.audit.verify()

    assert (report.ok, report.checked, report.first_bad_seq, report.problem) == (
        True,
        0,
        None,
        None,
    )


async def test_an_untouched_chain_verifies_every_record(city: City) -> None:
    await five_records(city)

    report = await city.audit.verify()

    assert (report.ok, report.checked) == (True, 5)


async def test_verify_names_an_altered_record(city: City) -> None:
    await five_records(city)
    await tamper(city, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 3")

    report = await city.audit.verify()

    assert (report.ok, report.checked, report.first_bad_seq) == (False, 2, 3)
    assert report.problem == "record 3: content does not match its hash (altered)"


async def test_verify_names_a_record_deleted_from_the_middle(city: City) -> None:
    await five_records(city)
    await tamper(city, "DELETE FROM audit_records WHERE seq = 3")

    report = await city.audit.verify()

    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem == "record 3 missing (removed)"


async def test_verify_names_the_first_record_deleted(city: City) -> None:
    await five_records(city)
    await tamper(city, "DELETE FROM audit_records WHERE seq = 1")

    report = await city.audit.verify()

    assert (report.ok, report.checked, report.first_bad_seq) == (False, 0, 1)


async def test_verify_names_the_last_record_deleted(city: City) -> None:
    await five_records(city)
    await tamper(city, "DELETE FROM audit_records WHERE seq = 5")

    report = await city.audit.verify()

    assert (report.ok, report.checked, report.first_bad_seq) == (False, 4, 5)
    assert report.problem is not None
    assert report.problem.startswith("record 5 missing (removed from the end)")


async def test_verify_names_the_first_of_two_records_with_swapped_contents(city: City) -> None:
    await five_records(city)
    await tamper(
        city,
        "UPDATE audit_records SET actor = 'x', action = 'x', target = 'x' WHERE seq = 2",
        "UPDATE audit_records SET actor = (SELECT actor FROM audit_records WHERE seq = 3),"
        " action = (SELECT action FROM audit_records WHERE seq = 3),"
        " target = (SELECT target FROM audit_records WHERE seq = 3) WHERE seq = 2",
        "UPDATE audit_records SET actor = 'user2', action = 'video.live2',"
        " target = 'point:2' WHERE seq = 3",
    )

    report = await city.audit.verify()

    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert report.problem == "record 2: content does not match its hash (altered)"


async def test_verify_names_the_first_of_two_records_swapped_whole(city: City) -> None:
    await five_records(city)
    await tamper(
        city,
        "UPDATE audit_records SET seq = -1 WHERE seq = 2",
        "UPDATE audit_records SET seq = 2 WHERE seq = 3",
        "UPDATE audit_records SET seq = 3 WHERE seq = -1",
    )

    report = await city.audit.verify()

    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert report.problem is not None
    assert report.problem.startswith("record 2: does not follow record 1")


async def test_verify_names_a_record_added_behind_the_chain_heads_back(city: City) -> None:
    await five_records(city)
    await tamper(
        city,
        "INSERT INTO audit_records (seq, at, actor, org_path, action, target, source, detail,"
        " prev_hash, hash) SELECT 6, at, actor, org_path, action, target, source, detail, hash,"
        " hash FROM audit_records WHERE seq = 5",
    )

    report = await city.audit.verify()

    assert (report.ok, report.first_bad_seq) == (False, 6)


async def test_verify_passes_again_on_records_appended_after_a_clean_check(city: City) -> None:
    await five_records(city)
    assert (await city.audit.verify()).ok

    await city.audit.record(ROOT, "video.export", "point:1", "/", {})

    assert (await city.audit.verify()).checked == 6


# Listing and recording


async def test_record_appends_what_a_caller_did_and_returns_its_seq(city: City) -> None:
    caller = Scope(user_id=7, username="olga", role=Role.OPERATOR, org_path="/", source="10.0.0.9")

    seq = await city.audit.record(caller, "video.playback", "point:1", city.station_a.path, {})

    (row,) = (await city.audit.list(ROOT, ALL)).items
    assert (seq, row.actor, row.action, row.target, row.source, row.at) == (
        1,
        "olga",
        "video.playback",
        "point:1",
        "10.0.0.9",
        city.clock.now(),
    )


async def test_a_manager_lists_only_records_in_its_subtree_newest_first(city: City) -> None:
    await five_records(city)

    page = await city.audit.list(city.scope(city.station_a, Role.SUPERVISOR), ALL)

    assert [r.seq for r in page.items] == [5, 3, 1]
    assert page.total == 3
    assert all(r.org_path == city.station_a.path for r in page.items)
    assert page.items[0].at == city.clock.now() - timedelta(seconds=1)  # record 5, 4 s in
    assert page.items[0].detail == {"n": 5}


async def test_the_list_filters_by_actor_and_by_action_prefix(city: City) -> None:
    await five_records(city)

    by_actor = await city.audit.list(ROOT, ALL, actor="user2")
    by_action = await city.audit.list(ROOT, ALL, action="video.live4")

    assert [r.seq for r in by_actor.items] == [2]
    assert [r.seq for r in by_action.items] == [4]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER, Role.PARTNER])
async def test_only_admins_and_supervisors_read_the_audit_trail(city: City, role: Role) -> None:
    with pytest.raises(PermissionDenied):
        await city.audit.list(city.scope(city.station_a, role), ALL)
