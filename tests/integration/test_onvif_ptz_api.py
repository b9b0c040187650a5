"""PTZ through the API against a simulated ONVIF camera: an operator's moves, stop and presets
turn the simulated head and are audited; a viewer is refused without the camera moving; a
camera without ONVIF, an unknown preset and a camera that does not answer get clear problems."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from safecity.core.paging import PageRequest
from safecity.core.scope import Role
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.sim.onvif_ptz import Position
from tests.api.conftest import ROOT

from .onvif_platform import OnvifPlatform, onvif_platform


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[OnvifPlatform, int]]:
    async with onvif_platform(tmp_path) as value:
        yield value, await value.register("device_in", value.sims[0])


async def test_an_operator_moves_stops_and_uses_presets_and_every_step_is_audited(
    rig: tuple[OnvifPlatform, int],
) -> None:
    platform, camera = rig
    head = platform.sims[0].ptz
    client, headers = platform.world.client, platform.world.auth(Role.OPERATOR)
    base = f"/api/cameras/{camera}/ptz"

    moved = await client.post(f"{base}/move", json={"pan": 0.5, "tilt": -0.25}, headers=headers)
    assert moved.status_code == 204, moved.text
    assert head.moving
    await asyncio.sleep(0.2)
    stopped = await client.post(f"{base}/stop", headers=headers)
    assert stopped.status_code == 204, stopped.text
    assert not head.moving
    here = head.position()
    assert here.pan > 0.05
    assert here.tilt < -0.02

    created = await client.post(f"{base}/presets", json={"name": "gate"}, headers=headers)
    assert created.status_code == 201, created.text
    preset = created.json()
    assert preset["name"] == "gate"
    assert preset["position"]["pan"] == pytest.approx(here.pan, abs=1e-5)  # 6 places on the wire
    listed = await client.get(f"{base}/presets", headers=headers)
    assert listed.status_code == 200
    assert [(p["token"], p["name"]) for p in listed.json()] == [(preset["token"], "gate")]

    head.move_to(Position(-0.9, 0.9, 1.0))  # someone else turns it away
    went = await client.post(f"{base}/presets/{preset['token']}/goto", headers=headers)
    assert went.status_code == 204, went.text
    assert head.position() == here

    timed = await client.post(f"{base}/move", json={"zoom": 1, "timeout_s": 0.1}, headers=headers)
    assert timed.status_code == 204
    await asyncio.sleep(0.3)
    assert not head.moving  # the move's timeout reached the camera
    assert head.position().zoom == pytest.approx(here.zoom + 0.1, abs=0.03)

    audit = await platform.world.platform.services.audit.list(
        ROOT, PageRequest(limit=20), action="ptz."
    )
    records = list(reversed(audit.items))
    assert [r.action for r in records] == [
        "ptz.move",
        "ptz.stop",
        "ptz.preset.set",
        "ptz.presets",
        "ptz.preset.goto",
        "ptz.move",
    ]
    assert {r.actor for r in records} == {"caller-operator"}
    assert {r.target for r in records} == {f"device:{camera}"}
    assert records[0].detail["pan"] == 0.5
    assert records[4].detail["token"] == preset["token"]
    assert all(r.source == "127.0.0.1" for r in records)


async def test_a_viewer_may_not_steer_and_the_camera_does_not_move(
    rig: tuple[OnvifPlatform, int],
) -> None:
    platform, camera = rig
    for role in (Role.VIEWER, Role.PARTNER):
        response = await platform.world.client.post(
            f"/api/cameras/{camera}/ptz/move", json={"pan": 1}, headers=platform.world.auth(role)
        )
        assert response.status_code == 403, (role, response.text)
    assert not platform.sims[0].ptz.moving
    assert platform.sims[0].ptz.position() == Position()


async def test_a_camera_without_onvif_an_unknown_preset_and_an_offline_camera_are_problems(
    rig: tuple[OnvifPlatform, int],
) -> None:
    platform, camera = rig
    client, headers = platform.world.client, platform.world.auth(Role.OPERATOR)
    plain = await platform.world.platform.services.devices.create(
        ROOT,
        DeviceDraft(point_id=platform.world.ids["point_in"], kind=DeviceKind.CAMERA, name="plain"),
    )
    no_onvif = await client.post(f"/api/cameras/{plain.id}/ptz/stop", headers=headers)
    assert no_onvif.status_code == 409
    assert "onvif_url" in no_onvif.json()["detail"]

    unknown = await client.post(f"/api/cameras/{camera}/ptz/presets/nope/goto", headers=headers)
    assert unknown.status_code == 404
    assert "preset" in unknown.json()["detail"]

    await platform.sims[0].stop()
    offline = await client.post(f"/api/cameras/{camera}/ptz/stop", headers=headers)
    assert offline.status_code == 503
    assert offline.headers["content-type"] == "application/problem+json"

    outside = platform.world.ids["device_out"]
    hidden = await client.post(f"/api/cameras/{outside}/ptz/stop", headers=headers)
    assert hidden.status_code == 404
