"""The alarm processor on the real stores: inbox rows in, alarms, restores, account state and
events out, each signal exactly once even across a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from safecity.alarms.account_models import AccountPatch, ZoneDraft
from safecity.alarms.processor import AlarmProcessor
from safecity.alarms.supervision import Supervision
from safecity.core.events import AlarmRaised
from safecity.store.alarm_tables import AlarmRow
from safecity.store.repositories import alarms as repo
from safecity.testing.clock import FakeClock

from .arc import account_row, actions_of, add_signal, alarm_events, alarms_of, seed_account
from .conftest import City


async def test_a_contact_id_burglary_raises_an_alarm_with_zone_name_and_cameras(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city, zones=[(15, "Back door", "door_contact", [city.camera.id])])
    signal = await add_signal(city.db, account.account, "1130 01 015", received_at=clock.now())
    await city.published.drain()

    assert await AlarmProcessor(city.ctx).process_pending() == 1

    (alarm,) = await alarms_of(city.db)
    assert (alarm.signal_id, alarm.source, alarm.category, alarm.priority) == (
        signal,
        "panel",
        "burglary",
        2,
    )
    assert (alarm.state, alarm.zone, alarm.partition) == ("new", 15, 1)
    assert "Back door" in alarm.title_en
    assert "Back door" in alarm.title_zh
    assert alarm.cameras == [city.camera.id]
    assert await actions_of(city.db, alarm.id) == ["raised"]
    (event,) = [e for e in await city.published.drain() if isinstance(e, AlarmRaised)]
    assert (event.alarm_id, event.zone_name, event.cameras) == (
        alarm.id,
        "Back door",
        [city.camera.id],
    )
    assert event.lat == city.civic_centre.lat
    assert repo.utc((await account_row(city.db, account.id)).last_seen_at) == clock.now()  # type: ignore[arg-type]
    async with city.db.session() as session:
        assert await repo.cursor(session) == signal


async def test_a_null_poll_only_counts_as_heard_from(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    await add_signal(city.db, account.account, "", token="NULL", received_at=clock.now())
    assert await AlarmProcessor(city.ctx).process_pending() == 1
    assert await alarms_of(city.db) == []
    assert (await account_row(city.db, account.id)).last_seen_at is not None


async def test_unknown_and_disabled_accounts_are_skipped_but_consumed(
    city: City, clock: FakeClock
) -> None:
    disabled = await seed_account(city, enabled=False)
    await add_signal(city.db, "FFFF", "1130 01 001", received_at=clock.now())
    last = await add_signal(city.db, disabled.account, "1130 01 001", received_at=clock.now())
    assert await AlarmProcessor(city.ctx).process_pending() == 2
    assert await alarms_of(city.db) == []
    async with city.db.session() as session:
        assert await repo.cursor(session) == last


@pytest.mark.parametrize(
    ("token", "data"), [("ADM-CID", "11 30 junk"), ("SIA-DCS", "garbage"), ("XYZ", "1130 01 001")]
)
async def test_a_payload_that_does_not_decode_becomes_a_technical_alarm(
    city: City, clock: FakeClock, token: str, data: str
) -> None:
    account = await seed_account(city)
    await add_signal(city.db, account.account, data, token=token, received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    (alarm,) = await alarms_of(city.db)
    assert (alarm.code, alarm.category, alarm.priority) == ("UNPARSED", "system", 4)
    assert data in alarm.title_en


async def test_a_trouble_restore_restores_and_resolves_it_as_technical(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1301 00 000", received_at=clock.now())
    await processor.process_pending()
    await city.published.drain()
    clock.advance(60)
    await add_signal(city.db, account.account, "3301 00 000", received_at=clock.now())
    await processor.process_pending()

    (alarm,) = await alarms_of(city.db)
    assert (alarm.state, alarm.disposition, alarm.resolved_by) == (
        "resolved",
        "technical",
        "system",
    )
    assert alarm.restored_at is not None
    assert await actions_of(city.db, alarm.id) == ["raised", "restored", "resolved"]
    assert alarm_events(await city.published.drain()) == [
        ("changed", alarm.id, "restored"),
        ("changed", alarm.id, "resolved"),
    ]


async def test_a_burglary_restore_only_marks_it_restored(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1130 01 004", received_at=clock.now())
    await add_signal(city.db, account.account, "1130 01 005", received_at=clock.now())
    await add_signal(city.db, account.account, "3130 01 004", received_at=clock.now())
    await processor.process_pending()

    zone_4, zone_5 = await alarms_of(city.db)
    assert zone_4.restored_at is not None
    assert zone_4.state == "new"
    assert zone_5.restored_at is None


async def test_sia_signals_in_one_message_raise_one_alarm_each(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    await add_signal(
        city.db, account.account, "Nri1/BA015/FA016", token="SIA-DCS", received_at=clock.now()
    )
    await AlarmProcessor(city.ctx).process_pending()
    burglary, fire = await alarms_of(city.db)
    assert (burglary.format, burglary.category, burglary.zone) == ("sia", "burglary", 15)
    assert (fire.category, fire.priority, fire.zone) == ("fire", 1, 16)


async def test_open_close_and_tests_raise_nothing_but_keep_the_open_state(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1401 01 007", received_at=clock.now())
    await add_signal(city.db, account.account, "1602 00 000", received_at=clock.now())
    await processor.process_pending()
    async with city.db.session() as session:
        state = (await repo.open_close_states(session, [account.id]))[account.id]
    assert (state["state"], state["user"]) == ("open", 7)

    await add_signal(
        city.db, account.account, "Nri1/CL007", token="SIA-DCS", received_at=clock.now()
    )
    await processor.process_pending()
    async with city.db.session() as session:
        state = (await repo.open_close_states(session, [account.id]))[account.id]
    assert state["state"] == "closed"
    assert await alarms_of(city.db) == []


async def test_an_opening_out_of_hours_raises_a_schedule_alarm(
    city: City, clock: FakeClock
) -> None:
    # 2026-01-01 00:00 UTC is 08:00 in Shanghai, a Thursday; the shop opens at 09:00.
    schedule = {"timezone": "Asia/Shanghai", "weekly": {"thu": [["09:00", "18:00"]]}}
    account = await seed_account(city, schedule=schedule)
    await add_signal(city.db, account.account, "1401 01 002", received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    (alarm,) = await alarms_of(city.db)
    assert (alarm.source, alarm.code, alarm.priority) == ("schedule", "450", 5)


async def test_a_message_after_a_communication_failure_restores_and_resolves_it(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city, supervision_s=300)
    clock.advance(301)
    (failure,) = await Supervision(city.ctx).check()
    await add_signal(city.db, account.account, "", token="NULL", received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    (alarm,) = await alarms_of(city.db)
    assert alarm.id == failure
    assert (alarm.state, alarm.disposition) == ("resolved", "technical")


async def _count_by_signal(city: City) -> dict[int | None, int]:
    async with city.db.session() as session:
        rows = await session.execute(
            select(AlarmRow.signal_id, func.count()).group_by(AlarmRow.signal_id)
        )
        return {signal: int(count) for signal, count in rows.all()}


async def test_a_crash_neither_loses_nor_repeats_a_signal(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    signals = []
    for zone in range(1, 21):
        clock.advance(1)
        signals.append(
            await add_signal(
                city.db, account.account, f"1130 01 {zone:03d}", received_at=clock.now()
            )
        )
    first = AlarmProcessor(city.ctx, batch_size=5)
    assert await first.process_batch() == 5
    assert await first.process_batch() == 5

    # The third batch dies half-way: nothing of it may stay.
    crashing = AlarmProcessor(city.ctx, batch_size=5)

    async def boom(*_args: object) -> None:
        raise RuntimeError("power cut")

    crashing._events = boom  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        await crashing.process_batch()

    restarted = AlarmProcessor(city.ctx, batch_size=5)  # a new process after the restart
    assert await restarted.process_pending() == 10
    assert await restarted.process_pending() == 0
    assert await _count_by_signal(city) == dict.fromkeys(signals, 1)


async def test_two_zones_of_one_account_confirm_each_other(city: City, clock: FakeClock) -> None:
    account = await seed_account(
        city,
        zones=[(1, "Hall", "pir", []), (2, "Office", "pir", [])],
    )
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1130 01 001", received_at=clock.now())
    await processor.process_pending()
    first = (await alarms_of(city.db))[0]
    await city.published.drain()
    clock.advance(120)
    await add_signal(city.db, account.account, "1130 01 002", received_at=clock.now())
    await processor.process_pending()

    one, two = await alarms_of(city.db)
    assert (one.confirmed, two.confirmed) == (True, True)
    assert (one.priority, two.priority) == (1, 1)
    events = alarm_events(await city.published.drain())
    assert events == [("raised", two.id, "130"), ("changed", first.id, "confirmed")]
    assert "confirmed" in await actions_of(city.db, first.id)


async def test_the_same_zone_again_or_an_old_alarm_does_not_confirm(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1130 01 001", received_at=clock.now())
    await add_signal(city.db, account.account, "1130 01 001", received_at=clock.now())
    await processor.process_pending()
    clock.advance(timedelta(minutes=11).total_seconds())
    await add_signal(city.db, account.account, "1130 01 002", received_at=clock.now())
    await processor.process_pending()
    assert [a.confirmed for a in await alarms_of(city.db)] == [False, False, False]


async def test_a_restore_hours_after_its_alarm_still_restores_it(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    await add_signal(city.db, account.account, "1130 01 004", received_at=clock.now())
    await processor.process_pending()
    clock.advance(6 * 3600)  # far past the confirmation window
    await add_signal(city.db, account.account, "3130 01 004", received_at=clock.now())
    await processor.process_pending()

    (alarm,) = await alarms_of(city.db)
    assert alarm.restored_at is not None


async def test_a_batch_loads_only_the_open_alarms_its_signals_can_touch(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    processor = AlarmProcessor(city.ctx)
    for zone in range(1, 41):  # a flood of panic alarms nobody has handled yet
        await add_signal(city.db, account.account, f"1120 01 {zone:03d}", received_at=clock.now())
    await add_signal(city.db, account.account, "1130 01 050", received_at=clock.now())
    await processor.process_pending()
    burglary = next(a for a in await alarms_of(city.db) if a.zone == 50)

    async def loaded(
        restores: list[tuple[int, int | None, str]] | None = None,
        confirming: list[int] | None = None,
    ) -> list[int | None]:
        wanted = repo.Restorable(
            account_ids=[account.id],
            recent=clock.now() - timedelta(seconds=60),
            restores=restores or [],
            confirming=confirming or [],
        )
        async with city.db.session() as session:
            rows = await repo.unresolved_of_accounts(session, wanted)
        return [row.zone for row in rows]

    assert await loaded() == []  # a NULL poll: nothing
    assert await loaded(restores=[(account.id, 7, "panic")]) == [7]
    assert await loaded(confirming=[account.id]) == [burglary.zone]
    clock.advance(3600)
    assert await loaded(confirming=[account.id]) == []  # raised before the window


async def test_under_pressure_processing_gives_way_but_never_stops(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city)
    for zone in range(1, 121):
        await add_signal(city.db, account.account, f"1120 01 {zone:03d}", received_at=clock.now())
    processor = AlarmProcessor(city.ctx)
    waiting = 1000  # panels waiting for ACKs, far above the threshold, and never less
    processor.defer_to(lambda: waiting, above=64, max_s=0.01)

    assert await processor.process_pending() == 120  # in short batches, each after a hold-back
    assert len(await alarms_of(city.db)) == 120
    assert processor.deferred_s > 0


async def test_without_pressure_processing_does_not_wait(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    await add_signal(city.db, account.account, "1120 01 001", received_at=clock.now())
    processor = AlarmProcessor(city.ctx)
    processor.defer_to(lambda: 3, above=64, max_s=10.0)

    assert await processor.process_pending() == 1
    assert processor.deferred_s == 0


async def test_one_processor_sees_account_changes_made_between_its_batches(
    city: City, clock: FakeClock
) -> None:
    """It keeps accounts and zones between batches: a change through the account service (a
    zone renamed, the point detached, the account disabled) must show in the very next batch."""
    account = await seed_account(city, zones=[(3, "Front door", "door_contact", [])])
    processor = AlarmProcessor(city.ctx)
    scope = city.scope(city.futian)

    async def alarm_after(change: Awaitable[object]) -> int:
        await change  # at the account's own time (the clock stands still): only the version moves
        await add_signal(city.db, account.account, "1130 01 003", received_at=clock.now())
        return await processor.process_pending()

    assert await alarm_after(asyncio.sleep(0)) == 1
    zones = [ZoneDraft(number=3, name="Vault", detector="pir")]
    assert await alarm_after(city.accounts.set_zones(scope, account.id, zones)) == 1
    assert (
        await alarm_after(city.accounts.update(scope, account.id, AccountPatch(clear_point=True)))
        == 1
    )
    assert (
        await alarm_after(city.accounts.update(scope, account.id, AccountPatch(enabled=False))) == 1
    )

    first, second, third = await alarms_of(city.db)
    assert ("Front door" in first.title_en, first.cameras) == (True, [city.camera.id])
    assert ("Vault" in second.title_en, second.cameras) == (True, [city.camera.id])
    assert (third.point_id, third.cameras) == (None, [])


async def test_last_seen_only_moves_forward(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    later = clock.now()
    await add_signal(city.db, account.account, "", token="NULL", received_at=later)
    await add_signal(
        city.db, account.account, "", token="NULL", received_at=later - timedelta(minutes=5)
    )
    processor = AlarmProcessor(city.ctx, batch_size=1)
    assert await processor.process_pending() == 2
    assert repo.utc((await account_row(city.db, account.id)).last_seen_at) == later  # type: ignore[arg-type]
