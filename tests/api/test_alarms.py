"""The alarm queue over HTTP: filters, the handling steps, conflicts and the report."""

from __future__ import annotations

import asyncio
import contextlib

from safecity.core.scope import Role
from safecity.store.alarm_tables import AlarmAccountRow, AlarmSignalRow

from .alarm_seed import alarm_id, seed_alarm
from .conftest import ROOT, World


async def test_an_operator_handles_an_alarm_from_claim_to_close(world: World) -> None:
    alarm = await alarm_id(world, "alarm_in")
    headers = world.auth(Role.OPERATOR)
    base = f"/api/alarms/{alarm}"

    steps = [
        ("/acknowledge", None, "acknowledged"),
        ("/dispatch", {"unit": "P-12", "eta_min": 5}, "dispatched"),
        ("/on-scene", None, "on_scene"),
        ("/resolve", {"disposition": "false", "notes": "cat in the hall"}, "resolved"),
    ]
    for suffix, body, state in steps:
        response = await world.client.post(base + suffix, json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state

    detail = (await world.client.get(base, headers=headers)).json()
    assert [a["action"] for a in detail["actions"]] == [
        "acknowledged",
        "dispatched",
        "on_scene",
        "resolved",
    ]
    assert detail["dispatch_unit"] == "P-12"
    assert detail["disposition"] == "false"
    assert detail["plan"] == ["Call the keyholder"]


async def test_a_second_claim_is_a_conflict(world: World) -> None:
    alarm = await alarm_id(world, "alarm_in")
    url = f"/api/alarms/{alarm}/acknowledge"
    assert (await world.client.post(url, headers=world.auth(Role.OPERATOR))).status_code == 200
    again = await world.client.post(url, headers=world.auth(Role.SUPERVISOR))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_an_unknown_disposition_is_refused(world: World) -> None:
    alarm = await alarm_id(world, "alarm_in")
    response = await world.client.post(
        f"/api/alarms/{alarm}/resolve",
        json={"disposition": "maybe"},
        headers=world.auth(Role.ADMIN),
    )
    assert response.status_code == 422


async def test_the_queue_filters_by_state_and_priority(world: World) -> None:
    burglary = await alarm_id(world, "alarm_in")
    fire = await seed_alarm(world, "unit_in", category="fire", priority=1)
    closed = await seed_alarm(world, "unit_in", state="resolved", disposition="test")
    headers = world.auth(Role.VIEWER)

    everything = (await world.client.get("/api/alarms", headers=headers)).json()
    assert [a["id"] for a in everything["items"]] == [fire, closed, burglary]
    urgent = await world.client.get("/api/alarms?min_priority=1", headers=headers)
    assert [a["id"] for a in urgent.json()["items"]] == [fire]
    open_ = await world.client.get(
        "/api/alarms?state=new&state=acknowledged&limit=1", headers=headers
    )
    assert open_.json()["total"] == 2
    assert [a["id"] for a in open_.json()["items"]] == [fire]


async def test_a_partner_gets_alarms_only_of_points_granted_the_alarms_right(
    world: World,
) -> None:
    shared = await alarm_id(world, "alarm_shared")
    await alarm_id(world, "alarm_in")
    response = await world.client.get("/api/alarms", headers=world.auth(Role.PARTNER))
    assert [a["id"] for a in response.json()["items"]] == [shared]


async def test_the_handling_report_counts_per_priority(world: World) -> None:
    alarm = await alarm_id(world, "alarm_in")
    await world.client.post(f"/api/alarms/{alarm}/acknowledge", headers=world.auth(Role.ADMIN))
    await alarm_id(world, "alarm_out")
    response = await world.client.get(
        "/api/alarms/report/handling-times", headers=world.auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    (row,) = response.json()["by_priority"]
    assert (row["priority"], row["alarms"], row["to_acknowledge"]["count"]) == (2, 1, 1)


async def test_the_platforms_processor_loop_turns_inbox_rows_into_alarms(world: World) -> None:
    platform = world.platform
    assert set(platform.background_jobs()) == {
        "alarm-processor",
        "alarm-escalation",
        "alarm-supervision",
        "media-retention",  # the fixture turns recording and the DC-09 receiver off
        "onvif-events",  # on by default; idle while no camera has an onvif_url
    }
    unit = await platform.services.units.get(ROOT, world.ids["unit_in"])
    now = platform.clock.now()
    async with platform.db.write() as session:
        session.add(
            AlarmAccountRow(
                account="BEEF",
                name="jeweller",
                org_unit_id=unit.id,
                org_path=unit.path,
                point_id=world.ids["point_in"],
                require_encryption=False,
                grace_s=0,
                schedule={},
                contacts=[],
                action_plans={},
                enabled=True,
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            AlarmSignalRow(
                account="BEEF",
                sequence=1,
                token="ADM-CID",
                sent_at=now,
                data="1130 01 015",
                dedupe="BEEF-1",
                received_at=now,
                transport="tcp",
                peer="127.0.0.1:1",
            )
        )
    loop = asyncio.create_task(platform.alarm_processor.run())
    try:
        platform.alarm_processor.notify()
        for _ in range(50):
            response = await world.client.get("/api/alarms", headers=world.auth(Role.OPERATOR))
            if response.json()["total"]:
                break
            await asyncio.sleep(0.1)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    (alarm,) = response.json()["items"]
    assert (alarm["account"], alarm["zone"], alarm["cameras"]) == (
        "BEEF",
        15,
        [world.ids["device_in"]],
    )
