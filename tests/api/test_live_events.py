"""`/api/events` over a real socket (uvicorn + the websockets client) and `/metrics`: what a
console and a Prometheus scraper see."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from safecity.access.models import GrantDraft
from safecity.app import open_platform, serve
from safecity.core.events import AlarmRaised
from safecity.core.scope import Department, Right, Role
from safecity.org.models import PointDraft
from safecity.settings import load_settings
from safecity.store.secretbox import SecretBox

from .conftest import ROOT, World, build_world

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[World, str]]:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'live.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 1000},
        log={"level": "error"},
    )
    async with open_platform(settings) as platform:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(platform, on_ready=ready.set_result))
        url = await asyncio.wait_for(ready, 10)
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                yield await build_world(platform, client), url
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


async def received(socket: Any, count: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(socket.recv(), 5)) for _ in range(count)]


def alarm(world: World, point: str, path: str) -> AlarmRaised:
    return AlarmRaised(
        at=AT,
        org_path=path,
        alarm_id=1,
        account="1234",
        point_id=world.ids[point],
        source="panel",
        code="130",
        category="burglary",
        priority=2,
        title_en="Burglary",
        title_zh="盗警",
    )


async def test_a_station_operator_gets_only_events_of_its_subtree(live: tuple[World, str]) -> None:
    world, url = live
    ws_url = url.replace("http", "ws") + "/api/events?subjects=org.point.>"
    headers = world.auth(Role.OPERATOR)
    async with connect(ws_url, additional_headers=headers) as socket:
        await asyncio.sleep(0.1)  # the server subscribes after accepting
        for unit in ("unit_out", "unit_in"):
            await world.platform.services.points.create(
                ROOT, PointDraft(org_unit_id=world.ids[unit], name=f"new {unit}", lat=22.5, lon=114)
            )
        (message,) = await received(socket, 1)

    assert message["subject"] == "org.point.created"
    assert message["event"]["kind"] == "point_changed"
    unit_in = await world.platform.services.units.get(ROOT, world.ids["unit_in"])
    assert message["event"]["org_path"].startswith(unit_in.path)


async def test_a_partner_gets_alarms_only_where_its_grant_carries_the_alarms_right(
    live: tuple[World, str],
) -> None:
    world, url = live
    out_path = (await world.platform.services.units.get(ROOT, world.ids["unit_out"])).path
    ws_url = url.replace("http", "ws") + f"/api/events?token={world.tokens[Role.PARTNER]}"
    async with connect(ws_url) as socket:
        await asyncio.sleep(0.1)
        # The traffic partner has point_shared with the live right only: no alarms from it.
        await world.platform.bus.publish(alarm(world, "point_shared", out_path))
        await world.platform.services.grants.create(
            ROOT,
            GrantDraft(
                department=Department.TRAFFIC,
                point_id=world.ids["point_out"],
                rights=[Right.ALARMS],
            ),
        )
        await world.platform.bus.publish(alarm(world, "point_out", out_path))
        messages = await received(socket, 2)

    subjects = [m["subject"] for m in messages]
    assert subjects == ["access.grant.created", "alarms.raised"]
    assert messages[1]["event"]["point_id"] == world.ids["point_out"]


async def test_events_without_a_valid_token_are_refused(live: tuple[World, str]) -> None:
    _world, url = live
    ws_url = url.replace("http", "ws") + "/api/events?token=not-a-token"
    with pytest.raises(ConnectionClosed) as caught:
        async with connect(ws_url) as socket:
            await asyncio.wait_for(socket.recv(), 5)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 1008


async def test_metrics_count_requests_by_route_template(live: tuple[World, str]) -> None:
    world, url = live
    async with httpx.AsyncClient(base_url=url) as client:
        for point in ("point_in", "point_out"):
            await client.get(f"/api/points/{world.ids[point]}", headers=world.auth(Role.ADMIN))
        text = (await client.get("/metrics")).text

    lines = [line for line in text.splitlines() if 'route="/api/points/{point_id}"' in line]
    counted = {
        line.split('status="')[1][:3]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("safecity_http_requests_total")
    }
    # One id in the caller's subtree, one outside it (404): both counted under one template.
    assert counted == {"200": 1.0, "404": 1.0}, lines
