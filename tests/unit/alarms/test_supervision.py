"""Supervision on the real stores: communication failure per silence, late to open and late to
close once per window or opening."""

from __future__ import annotations

from safecity.alarms.processor import AlarmProcessor
from safecity.alarms.supervision import Supervision
from safecity.core.events import AlarmRaised
from safecity.testing.clock import FakeClock

from .arc import add_signal, alarms_of, seed_account
from .conftest import City

# The fake clock starts at 2026-01-01 00:00 UTC: 08:00 on a Thursday in Shanghai.
SHOP = {
    "timezone": "Asia/Shanghai",
    "weekly": {"thu": [["09:00", "18:00"]]},
    "open_grace_min": 15,
    "close_grace_min": 15,
}


async def test_a_silent_account_gets_one_communication_failure_alarm(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city, supervision_s=600, grace_s=60)
    supervision = Supervision(city.ctx)
    await city.published.drain()
    clock.advance(660)
    assert await supervision.check() == []
    clock.advance(1)
    (failure,) = await supervision.check()
    clock.advance(3600)
    assert await supervision.check() == []

    (alarm,) = await alarms_of(city.db)
    assert (alarm.id, alarm.source, alarm.code, alarm.category, alarm.priority) == (
        failure,
        "supervision",
        "350",
        "communication",
        4,
    )
    (event,) = [e for e in await city.published.drain() if isinstance(e, AlarmRaised)]
    assert (event.alarm_id, event.source) == (failure, "supervision")
    assert account.account == event.account


async def test_a_new_silence_after_the_panel_spoke_alarms_again(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city, supervision_s=300)
    supervision = Supervision(city.ctx)
    clock.advance(301)
    assert len(await supervision.check()) == 1
    await add_signal(city.db, account.account, "", token="NULL", received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    clock.advance(200)
    assert await supervision.check() == []
    clock.advance(101)
    assert len(await supervision.check()) == 1
    first, second = await alarms_of(city.db)
    assert first.state == "resolved"
    assert second.state == "new"


async def test_unsupervised_and_disabled_accounts_are_left_alone(
    city: City, clock: FakeClock
) -> None:
    await seed_account(city)
    await seed_account(city, supervision_s=60, enabled=False)
    clock.advance(86_400)
    assert await Supervision(city.ctx).check() == []


async def test_not_opened_after_the_grace_is_late_to_open_once(
    city: City, clock: FakeClock
) -> None:
    await seed_account(city, schedule=SHOP)
    supervision = Supervision(city.ctx)
    clock.advance(75 * 60 - 1)  # 09:14:59 local
    assert await supervision.check() == []
    clock.advance(1)
    (late,) = await supervision.check()
    clock.advance(600)
    assert await supervision.check() == []
    (alarm,) = await alarms_of(city.db)
    assert (alarm.id, alarm.source, alarm.code, alarm.priority) == (late, "schedule", "453", 5)


async def test_opened_on_time_is_not_late(city: City, clock: FakeClock) -> None:
    account = await seed_account(city, schedule=SHOP)
    clock.advance(65 * 60)  # 09:05 local
    await add_signal(city.db, account.account, "1401 01 003", received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    clock.advance(30 * 60)
    assert await Supervision(city.ctx).check() == []
    assert await alarms_of(city.db) == []


async def test_still_open_after_closing_time_is_late_to_close_once(
    city: City, clock: FakeClock
) -> None:
    account = await seed_account(city, schedule=SHOP)
    clock.advance(60 * 60)  # 09:00 local
    await add_signal(city.db, account.account, "1401 01 003", received_at=clock.now())
    await AlarmProcessor(city.ctx).process_pending()
    supervision = Supervision(city.ctx)
    clock.advance(9 * 3600 + 14 * 60)  # 18:14 local
    assert await supervision.check() == []
    clock.advance(60)
    (late,) = await supervision.check()
    clock.advance(3600)
    assert await supervision.check() == []
    (alarm,) = await alarms_of(city.db)
    assert (alarm.id, alarm.code) == (late, "454")
