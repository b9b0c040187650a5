"""Escalation on the real stores: unacknowledged alarms past their priority's limit, once."""

from __future__ import annotations

from safecity.alarms.escalation import Escalation, EscalationRules
from safecity.alarms.service import AlarmService
from safecity.testing.clock import FakeClock

from .arc import actions_of, alarm_events, alarms_of, seed_account, seed_alarm
from .conftest import ROOT, City


async def test_alarms_escalate_after_their_priority_limit(city: City, clock: FakeClock) -> None:
    account = await seed_account(city)
    fire = await seed_alarm(city, account, category="fire", priority=1)
    burglary = await seed_alarm(city, account)
    trouble = await seed_alarm(city, account, category="power", priority=4)
    escalation = Escalation(city.ctx)
    await city.published.drain()

    clock.advance(29)
    assert await escalation.check() == []
    clock.advance(1)
    assert await escalation.check() == [fire]
    clock.advance(30)
    assert await escalation.check() == [burglary]
    clock.advance(239)
    assert await escalation.check() == []
    clock.advance(1)
    assert await escalation.check() == [trouble]

    assert all(row.escalated for row in await alarms_of(city.db))
    assert await actions_of(city.db, fire) == ["escalated"]
    assert alarm_events(await city.published.drain()) == [
        ("changed", fire, "escalated"),
        ("changed", burglary, "escalated"),
        ("changed", trouble, "escalated"),
    ]


async def test_an_escalated_alarm_escalates_once(city: City, clock: FakeClock) -> None:
    alarm = await seed_alarm(city, await seed_account(city))
    escalation = Escalation(city.ctx)
    clock.advance(61)
    assert await escalation.check() == [alarm]
    clock.advance(600)
    assert await escalation.check() == []


async def test_an_acknowledged_alarm_does_not_escalate(city: City, clock: FakeClock) -> None:
    alarm = await seed_alarm(city, await seed_account(city))
    await AlarmService(city.ctx).acknowledge(ROOT, alarm)
    clock.advance(3600)
    assert await Escalation(city.ctx).check() == []


async def test_limits_are_configurable(city: City, clock: FakeClock) -> None:
    alarm = await seed_alarm(city, await seed_account(city))
    clock.advance(10)
    assert await Escalation(city.ctx, EscalationRules(burglary_s=10)).check() == [alarm]
