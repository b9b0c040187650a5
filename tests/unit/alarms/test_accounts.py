"""Alarm subscriber accounts on the real stores: keys sealed at rest, scope, points and cameras,
zones, audit and events per change, and the receiver's key cache."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from safecity.alarms.account_models import (
    AccountDraft,
    AccountPatch,
    ContactRole,
    DetectorType,
    KeyNotation,
    Weekday,
    ZoneDraft,
)
from safecity.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from safecity.core.events import AlarmAccountChanged
from safecity.core.paging import PageRequest
from safecity.core.scope import Role
from safecity.store.alarm_tables import AlarmAccountRow, AlarmRow

from .conftest import ROOT, City

ALL = PageRequest(limit=100)
KEY_HEX = "00112233445566778899AABBCCDDEEFF"
KEY_TEXT = "sixteen-chars-ok"


def draft(city: City, account: str = "a1b2", **fields: object) -> AccountDraft:
    return AccountDraft.model_validate(
        {"account": account, "name": f"Shop {account}", "org_unit_id": city.futian_1.id, **fields}
    )


async def stored(city: City, account_id: int) -> AlarmAccountRow:
    async with city.db.session() as session:
        row = await session.get(AlarmAccountRow, account_id)
    assert row is not None
    return row


# Creating


async def test_created_account_reads_back_upper_case_with_zones_and_contacts_in_order(
    city: City,
) -> None:
    account = await city.accounts.create(
        ROOT,
        draft(
            city,
            point_id=city.civic_centre.id,
            zones=[
                {"number": 2, "name": "Hall", "detector": "pir"},
                {
                    "number": 1,
                    "name": "Front door",
                    "detector": "door_contact",
                    "camera_ids": [city.camera.id],
                },
            ],
            contacts=[
                {"name": "Guard", "phone": "+86 755 1234", "role": "guard", "order": 2},
                {"name": "Owner", "phone": "13800000000", "role": "keyholder", "order": 1},
            ],
            supervision_s=300,
            grace_s=60,
            schedule={"weekly": {"mon": [["08:30", "18:00"]]}},
            action_plans={"burglary": ["Call keyholder", "Dispatch patrol"]},
        ),
    )

    assert account.account == "A1B2"
    assert (account.org_unit_id, account.org_path) == (city.futian_1.id, city.futian_1.path)
    assert [(z.number, z.detector, z.camera_ids) for z in account.zones] == [
        (1, DetectorType.DOOR_CONTACT, [city.camera.id]),
        (2, DetectorType.PIR, []),
    ]
    assert [c.role for c in account.contacts] == [ContactRole.KEYHOLDER, ContactRole.GUARD]
    assert account.schedule is not None
    assert account.schedule.weekly[Weekday.MON] == [("08:30", "18:00")]
    assert account.action_plans.steps_for("burglary") == ["Call keyholder", "Dispatch patrol"]
    assert (account.has_key, account.key_notation) == (False, None)
    assert await city.accounts.get(ROOT, account.id) == account


async def test_duplicate_account_number_is_a_conflict_whatever_its_case(city: City) -> None:
    await city.accounts.create(ROOT, draft(city, "ABC"))

    with pytest.raises(Conflict, match="ABC already exists"):
        await city.accounts.create(ROOT, draft(city, "abc"))


def test_draft_rules_refuse_bad_numbers_keys_and_zones() -> None:
    base: dict[str, object] = {"account": "123", "name": "n", "org_unit_id": 1}
    bad: list[dict[str, object]] = [
        {"account": "12"},
        {"account": "12G4"},
        {"account": "0" * 17},
        {"key_hex": "00" * 15},
        {"key_hex": "zz" * 16},
        {"key_text": "too short"},
        {"key_hex": KEY_HEX, "key_text": KEY_TEXT},
        {"require_encryption": True},
        {"supervision_s": 59},
        {"supervision_s": 7 * 24 * 3600 + 1},
        {"zones": [{"number": 1, "name": "a", "detector": "pir"}] * 2},
        {"zones": [{"number": 1000, "name": "a", "detector": "pir"}]},
        {"zones": [{"number": 1, "name": "a", "detector": "laser"}]},
        {"contacts": [{"name": "a", "phone": "call me", "role": "guard"}]},
        {"colour": "red"},
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            AccountDraft.model_validate(base | fields)


# Keys


async def test_key_is_sealed_at_rest_and_never_shown(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city, key_hex=KEY_HEX.lower()))

    row = await stored(city, account.id)
    assert row.key_sealed is not None
    assert KEY_HEX.encode() not in row.key_sealed
    assert KEY_HEX.lower().encode() not in row.key_sealed
    assert bytes.fromhex(KEY_HEX) not in row.key_sealed
    assert (account.has_key, account.key_notation) == (True, KeyNotation.HEX)
    assert KEY_HEX not in account.model_dump_json().upper()
    assert KEY_HEX not in str([entry.detail for entry in await city.audit()]).upper()


async def test_receiver_keys_are_the_enabled_accounts_keys_unsealed(city: City) -> None:
    await city.accounts.create(ROOT, draft(city, "AA1", key_hex=KEY_HEX, require_encryption=True))
    await city.accounts.create(ROOT, draft(city, "AA2", key_text=KEY_TEXT))
    await city.accounts.create(ROOT, draft(city, "AA3"))
    await city.accounts.create(ROOT, draft(city, "AA4", key_hex=KEY_HEX, enabled=False))

    keys = await city.accounts.receiver_keys()

    assert set(keys) == {"AA1", "AA2", "AA3"}
    assert keys["AA1"].key is not None
    assert keys["AA1"].key.raw == bytes.fromhex(KEY_HEX)
    assert keys["AA1"].require_encryption
    assert keys["AA2"].key is not None
    assert keys["AA2"].key.raw == KEY_TEXT.encode()
    assert not keys["AA2"].require_encryption
    assert keys["AA3"].key is None


async def test_a_patch_replaces_or_clears_the_key(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city, key_hex=KEY_HEX))

    changed = await city.accounts.update(ROOT, account.id, AccountPatch(key_text=KEY_TEXT))
    assert changed.key_notation is KeyNotation.TEXT
    keys = await city.accounts.receiver_keys()
    new_key = keys[account.account].key
    assert new_key is not None
    assert new_key.raw == KEY_TEXT.encode()
    cleared = await city.accounts.update(ROOT, account.id, AccountPatch(clear_key=True))
    assert (cleared.has_key, cleared.key_notation) == (False, None)
    assert (await stored(city, account.id)).key_sealed is None


async def test_encryption_cannot_be_required_of_an_account_without_a_key(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city))

    with pytest.raises(ValidationFailed, match="require_encryption"):
        await city.accounts.update(ROOT, account.id, AccountPatch(require_encryption=True))


# Points and cameras


async def test_the_point_must_lie_inside_the_accounts_unit(city: City) -> None:
    with pytest.raises(ValidationFailed, match="not inside org unit"):
        await city.accounts.create(ROOT, draft(city, point_id=city.lianhua_hill.id))
    with pytest.raises(NotFound):
        await city.accounts.create(ROOT, draft(city, point_id=999_999))


async def test_moving_an_account_checks_its_point_against_the_new_unit(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city, point_id=city.civic_centre.id))

    with pytest.raises(ValidationFailed, match="not inside"):
        await city.accounts.update(ROOT, account.id, AccountPatch(org_unit_id=city.futian_2.id))
    moved = await city.accounts.update(
        ROOT, account.id, AccountPatch(org_unit_id=city.futian_2.id, clear_point=True)
    )
    assert (moved.org_path, moved.point_id) == (city.futian_2.path, None)
    up = await city.accounts.update(ROOT, account.id, AccountPatch(org_unit_id=city.futian.id))
    assert up.org_path == city.futian.path


async def test_zone_cameras_must_be_cameras_the_caller_sees(city: City) -> None:
    station = city.scope(city.futian_1)
    account = await city.accounts.create(station, draft(city))

    for device in (city.panel, city.far_camera):
        zone = ZoneDraft(number=1, name="a", detector=DetectorType.PIR, camera_ids=[device.id])
        with pytest.raises(ValidationFailed, match="not a camera you can see"):
            await city.accounts.set_zones(station, account.id, [zone])


async def test_setting_zones_replaces_the_whole_list(city: City) -> None:
    account = await city.accounts.create(
        ROOT, draft(city, zones=[{"number": n, "name": f"z{n}", "detector": "pir"} for n in (1, 2)])
    )

    zones = [ZoneDraft(number=7, name="Vault", detector=DetectorType.VIBRATION)]
    changed = await city.accounts.set_zones(ROOT, account.id, zones)

    assert [(z.number, z.name) for z in changed.zones] == [(7, "Vault")]
    assert (await city.accounts.get(ROOT, account.id)).zones == changed.zones
    with pytest.raises(ValidationFailed, match="twice"):
        await city.accounts.set_zones(ROOT, account.id, zones * 2)


# Scope


async def test_a_station_sees_only_its_subtrees_accounts(city: City) -> None:
    mine = await city.accounts.create(ROOT, draft(city, "FF1"))
    theirs = await city.accounts.create(
        ROOT, draft(city, "FF2", org_unit_id=city.futian_2.id, name="Bank of China")
    )
    station = city.scope(city.futian_1, Role.VIEWER)
    branch = city.scope(city.futian, Role.VIEWER)

    page = await city.accounts.list(station, ALL)
    assert [a.account for a in page.items] == ["FF1"]
    assert page.total == 1
    with pytest.raises(NotFound):
        await city.accounts.get(station, theirs.id)
    assert (await city.accounts.get(station, mine.id)).id == mine.id
    assert {a.account for a in (await city.accounts.list(branch, ALL)).items} == {"FF1", "FF2"}
    only_2 = await city.accounts.list(branch, ALL, org_unit_id=city.futian_2.id)
    assert [a.account for a in only_2.items] == ["FF2"]
    assert [a.account for a in (await city.accounts.list(branch, ALL, text="china")).items] == [
        "FF2"
    ]
    with pytest.raises(NotFound):
        await city.accounts.list(station, ALL, org_unit_id=city.futian_2.id)


async def test_out_of_scope_changes_read_as_not_found(city: City) -> None:
    theirs = await city.accounts.create(ROOT, draft(city, "FF2", org_unit_id=city.futian_2.id))
    station = city.scope(city.futian_1)

    with pytest.raises(NotFound):
        await city.accounts.create(station, draft(city, "FF3", org_unit_id=city.futian_2.id))
    with pytest.raises(NotFound):
        await city.accounts.update(station, theirs.id, AccountPatch(name="mine now"))
    with pytest.raises(NotFound):
        await city.accounts.set_zones(station, theirs.id, [])
    with pytest.raises(NotFound):
        await city.accounts.delete(station, theirs.id)
    with pytest.raises(NotFound):
        await city.accounts.create(station, draft(city, "FF4", point_id=city.lianhua_hill.id))


async def test_partners_never_see_accounts_and_viewers_cannot_change_them(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city))
    partner = city.scope(city.futian_1, Role.PARTNER)
    viewer = city.scope(city.futian_1, Role.VIEWER)

    with pytest.raises(PermissionDenied):
        await city.accounts.list(partner, ALL)
    with pytest.raises(PermissionDenied):
        await city.accounts.get(partner, account.id)
    with pytest.raises(PermissionDenied):
        await city.accounts.update(viewer, account.id, AccountPatch(name="x"))
    with pytest.raises(PermissionDenied):
        await city.accounts.delete(viewer, account.id)


# Audit and events


async def test_every_change_is_audited_once_and_announced_once(city: City) -> None:
    await city.published.drain()
    before = len(await city.audit())

    account = await city.accounts.create(ROOT, draft(city, key_text=KEY_TEXT))
    await city.accounts.update(ROOT, account.id, AccountPatch(name="Renamed", key_hex=KEY_HEX))
    await city.accounts.set_zones(
        ROOT, account.id, [ZoneDraft(number=1, name="a", detector=DetectorType.SMOKE)]
    )
    await city.accounts.delete(ROOT, account.id)

    audit = (await city.audit())[before:]
    assert [(a.action, a.target) for a in audit] == [
        (action, f"alarm_account:{account.id}")
        for action in ("create", "update", "zones", "delete")
        for action in [f"alarm_account.{action}"]
    ]
    assert audit[0].detail["key_text"] == "***"
    assert audit[1].detail == {"name": "Renamed", "key_hex": "***"}
    events = await city.published.drain()
    assert [(type(e), getattr(e, "change", None)) for e in events] == [
        (AlarmAccountChanged, "created"),
        (AlarmAccountChanged, "updated"),
        (AlarmAccountChanged, "updated"),
        (AlarmAccountChanged, "deleted"),
    ]
    assert all(isinstance(e, AlarmAccountChanged) and e.account == account.account for e in events)
    with pytest.raises(NotFound):
        await city.accounts.get(ROOT, account.id)


async def test_a_refused_change_leaves_no_audit_record_and_no_event(city: City) -> None:
    await city.accounts.create(ROOT, draft(city))
    await city.published.drain()
    before = len(await city.audit())

    with pytest.raises(Conflict):
        await city.accounts.create(ROOT, draft(city))

    assert len(await city.audit()) == before
    assert await city.published.drain() == []


async def test_an_account_with_alarms_cannot_be_deleted(city: City) -> None:
    account = await city.accounts.create(ROOT, draft(city))
    now = city.ctx.clock.now()
    async with city.db.write() as session:
        session.add(
            AlarmRow(
                account_id=account.id,
                account=account.account,
                org_unit_id=account.org_unit_id,
                org_path=account.org_path,
                source="panel",
                format="contact_id",
                code="130",
                category="burglary",
                priority=2,
                title_en="Burglary",
                title_zh="盗警",
                state="new",
                raised_at=now,
                updated_at=now,
            )
        )

    with pytest.raises(Conflict, match="has alarms"):
        await city.accounts.delete(ROOT, account.id)
    async with city.db.session() as session:
        assert await session.scalar(select(AlarmAccountRow.id)) == account.id
