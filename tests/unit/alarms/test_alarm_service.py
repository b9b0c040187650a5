"""The operator's alarm service on the real stores: queue filters, scope, handling steps with
their action rows, audit records and events, and the handling-time report."""

from __future__ import annotations

from datetime import timedelta

import pytest

from safecity.alarms.alarm_models import Dispatch, Note, Resolve
from safecity.alarms.lifecycle import AlarmState, Disposition
from safecity.alarms.service import AlarmService
from safecity.core.errors import Conflict, NotFound, PermissionDenied
from safecity.core.paging import PageRequest
from safecity.core.scope import Right, Role, Scope
from safecity.testing.clock import FakeClock

from .arc import actions_of, alarm_events, seed_account, seed_alarm
from .conftest import ROOT, City

ALL = PageRequest(limit=100)


def partner(city: City, rights: dict[int, frozenset[Right]]) -> Scope:
    return Scope(
        user_id=9,
        username="traffic",
        role=Role.PARTNER,
        org_path=city.futian_2.path,
        shared_points=frozenset(rights),
        rights_by_point=rights,
    )


async def test_the_queue_lists_the_most_urgent_first_and_filters(city: City) -> None:
    service = AlarmService(city.ctx)
    account = await seed_account(city)
    start = city.ctx.clock.now()
    burglary = await seed_alarm(city, account, raised_at=start)
    fire = await seed_alarm(
        city, account, category="fire", priority=1, raised_at=start + timedelta(seconds=1)
    )
    trouble = await seed_alarm(
        city,
        account,
        category="power",
        priority=4,
        state="resolved",
        raised_at=start + timedelta(seconds=2),
    )

    everything = await service.list(ROOT, ALL)
    assert [a.id for a in everything.items] == [fire, burglary, trouble]
    urgent = await service.list(ROOT, ALL, max_priority=2)
    assert [a.id for a in urgent.items] == [fire, burglary]
    open_ = await service.list(ROOT, ALL, states=[AlarmState.RESOLVED])
    assert [a.id for a in open_.items] == [trouble]
    later = await service.list(ROOT, ALL, since=start + timedelta(seconds=1))
    assert {a.id for a in later.items} == {fire, trouble}
    earlier = await service.list(ROOT, ALL, until=start + timedelta(seconds=1))
    assert [a.id for a in earlier.items] == [burglary]


async def test_staff_see_only_their_subtree(city: City) -> None:
    service = AlarmService(city.ctx)
    inside = await seed_alarm(city, await seed_account(city))
    outside = await seed_alarm(
        city, await seed_account(city, unit=city.luohu_1, point=city.dongmen)
    )
    operator = city.scope(city.futian, Role.OPERATOR)

    page = await service.list(operator, ALL)
    assert [a.id for a in page.items] == [inside]
    assert page.total == 1
    with pytest.raises(NotFound):
        await service.get(operator, outside)
    with pytest.raises(NotFound):
        await service.acknowledge(operator, outside)
    with pytest.raises(NotFound):
        await service.list(operator, ALL, org_unit_id=city.luohu_1.id)
    by_unit = await service.list(ROOT, ALL, org_unit_id=city.luohu_1.id)
    assert [a.id for a in by_unit.items] == [outside]


async def test_a_partner_sees_alarms_only_of_points_granted_with_the_alarms_right(
    city: City,
) -> None:
    service = AlarmService(city.ctx)
    civic = await seed_alarm(city, await seed_account(city))
    dongmen = await seed_alarm(
        city, await seed_account(city, unit=city.luohu_1, point=city.dongmen)
    )
    scope = partner(
        city,
        {
            city.civic_centre.id: frozenset({Right.ALARMS}),
            city.dongmen.id: frozenset({Right.LIVE}),
        },
    )

    assert [a.id for a in (await service.list(scope, ALL)).items] == [civic]
    assert (await service.get(scope, civic)).id == civic
    with pytest.raises(NotFound):
        await service.get(scope, dongmen)
    with pytest.raises(PermissionDenied):
        await service.acknowledge(scope, civic)


async def test_a_viewer_reads_but_cannot_handle(city: City) -> None:
    service = AlarmService(city.ctx)
    alarm = await seed_alarm(city, await seed_account(city))
    viewer = city.scope(city.futian_1, Role.VIEWER)
    assert (await service.get(viewer, alarm)).id == alarm
    with pytest.raises(PermissionDenied):
        await service.acknowledge(viewer, alarm)


async def test_handling_an_alarm_records_each_step_audits_it_and_tells_the_bus(
    city: City, clock: FakeClock
) -> None:
    service = AlarmService(city.ctx)
    alarm = await seed_alarm(city, await seed_account(city))
    operator = city.scope(city.futian_1, Role.OPERATOR)
    await city.published.drain()

    clock.advance(10)
    acknowledged = await service.acknowledge(operator, alarm)
    clock.advance(20)
    dispatched = await service.dispatch(operator, alarm, Dispatch(unit="P-12", eta_min=8))
    clock.advance(300)
    await service.on_scene(operator, alarm)
    clock.advance(600)
    resolved = await service.resolve(
        operator, alarm, Resolve(disposition=Disposition.REAL, notes="window forced, suspect gone")
    )

    assert acknowledged.state is AlarmState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == operator.username
    assert dispatched.dispatch_unit == "P-12"
    assert dispatched.dispatch_eta == dispatched.dispatched_at + timedelta(minutes=8)  # type: ignore[operator]
    assert resolved.state is AlarmState.RESOLVED
    assert resolved.disposition is Disposition.REAL
    assert "window forced" in resolved.notes
    assert await actions_of(city.db, alarm) == [
        "acknowledged",
        "dispatched",
        "on_scene",
        "resolved",
    ]
    audit = [(r.action, r.target, r.actor) for r in await city.audit()]
    assert [a for a in audit if a[0].startswith("alarms.")] == [
        (f"alarms.{verb}", f"alarm:{alarm}", operator.username)
        for verb in ("acknowledge", "dispatch", "on_scene", "resolve")
    ]
    assert alarm_events(await city.published.drain()) == [
        ("changed", alarm, "acknowledged"),
        ("changed", alarm, "dispatched"),
        ("changed", alarm, "on_scene"),
        ("changed", alarm, "resolved"),
    ]


async def test_a_second_acknowledge_is_a_conflict(city: City) -> None:
    service = AlarmService(city.ctx)
    alarm = await seed_alarm(city, await seed_account(city))
    await service.acknowledge(ROOT, alarm)
    with pytest.raises(Conflict):
        await service.acknowledge(ROOT, alarm)
    assert await actions_of(city.db, alarm) == ["acknowledged"]


async def test_dispatch_needs_an_acknowledged_alarm(city: City) -> None:
    service = AlarmService(city.ctx)
    alarm = await seed_alarm(city, await seed_account(city))
    with pytest.raises(Conflict):
        await service.dispatch(ROOT, alarm, Dispatch(unit="P-1"))


async def test_a_keyholder_cancel_resolves_an_unclaimed_alarm(city: City) -> None:
    service = AlarmService(city.ctx)
    alarm = await seed_alarm(city, await seed_account(city))
    done = await service.resolve(
        ROOT, alarm, Resolve(disposition=Disposition.CANCELLED_BY_KEYHOLDER)
    )
    assert done.state is AlarmState.RESOLVED
    with pytest.raises(Conflict):
        await service.resolve(ROOT, alarm, Resolve(disposition=Disposition.TEST))


async def test_the_detail_carries_history_zone_name_and_the_category_plan(city: City) -> None:
    service = AlarmService(city.ctx)
    account = await seed_account(
        city,
        zones=[(3, "Back door", "door_contact", [])],
        action_plans={"burglary": ["Call keyholder", "Send patrol"], "default": ["Log it"]},
    )
    alarm = await seed_alarm(city, account, zone=3)
    trouble = await seed_alarm(city, account, category="power", priority=4, zone=None)
    await service.add_note(ROOT, alarm, Note(text="keyholder on the way"))

    detail = await service.get(ROOT, alarm)
    assert detail.zone_name == "Back door"
    assert detail.plan == ["Call keyholder", "Send patrol"]
    assert [a.action for a in detail.actions] == ["note"]
    assert detail.actions[0].detail == {"text": "keyholder on the way"}
    assert "keyholder on the way" in detail.notes
    assert (await service.get(ROOT, trouble)).plan == ["Log it"]


async def test_the_handling_report_gives_percentiles_per_priority(
    city: City, clock: FakeClock
) -> None:
    service = AlarmService(city.ctx)
    account = await seed_account(city)
    start = clock.now()
    for seconds in (10, 20, 30, 40):
        alarm = await seed_alarm(city, account, raised_at=clock.now())
        clock.advance(seconds)
        await service.acknowledge(ROOT, alarm)
        clock.advance(seconds)
        await service.resolve(ROOT, alarm, Resolve(disposition=Disposition.FALSE))
    await seed_alarm(city, account, priority=1, category="fire", raised_at=clock.now())
    outside = await seed_account(city, unit=city.luohu_1, point=city.dongmen)
    await seed_alarm(city, outside, raised_at=clock.now())

    report = await service.handling_times(
        city.scope(city.futian, Role.SUPERVISOR), since=start, until=clock.now() + timedelta(1)
    )
    rows = {row.priority: row for row in report.by_priority}
    assert set(rows) == {1, 2}
    burglary = rows[2]
    assert burglary.alarms == 4
    assert burglary.to_acknowledge.count == 4
    assert (burglary.to_acknowledge.p50_s, burglary.to_acknowledge.p90_s) == (20.0, 40.0)
    assert (burglary.to_close.p50_s, burglary.to_close.p90_s) == (40.0, 80.0)
    assert burglary.to_dispatch.count == 0
    assert burglary.to_dispatch.p50_s is None
    assert rows[1].alarms == 1
    assert rows[1].to_acknowledge.count == 0
