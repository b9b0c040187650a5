"""The PTZ service checks the role before it looks for the camera, audits before it drives,
and drives nothing when the lookup refuses."""

from __future__ import annotations

from typing import Any

import pytest

from safecity.core.errors import Conflict, PermissionDenied
from safecity.core.scope import Role, Scope
from safecity.ptz.models import PtzCamera, PtzMove, PtzPreset, PtzPresetDraft
from safecity.ptz.service import PtzService

CAMERA = PtzCamera(5, 2, "/1/4/", "gate", "http://10.0.0.7/onvif/device_service", "a", "p", "r1")


def caller(role: Role) -> Scope:
    return Scope(user_id=1, username=f"u-{role}", role=role, org_path="/1/4/")


class Trail:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any] | None]] = []

    async def record(
        self,
        scope: Scope,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        self.records.append((action, target, detail))
        return len(self.records)


class Head:
    """A driver that remembers the commands, and what the audit trail held at each."""

    def __init__(self, trail: Trail) -> None:
        self.trail = trail
        self.commands: list[tuple[str, int]] = []

    def _note(self, command: str) -> None:
        self.commands.append((command, len(self.trail.records)))

    async def move(self, camera: PtzCamera, move: PtzMove) -> None:
        self._note("move")

    async def stop(self, camera: PtzCamera) -> None:
        self._note("stop")

    async def presets(self, camera: PtzCamera) -> list[PtzPreset]:
        self._note("presets")
        return []

    async def set_preset(self, camera: PtzCamera, name: str) -> PtzPreset:
        self._note("set")
        return PtzPreset(token="1", name=name)

    async def goto_preset(self, camera: PtzCamera, token: str) -> None:
        self._note("goto")


async def found(scope: Scope, camera_id: int) -> PtzCamera:
    return CAMERA


async def no_onvif(scope: Scope, camera_id: int) -> PtzCamera:
    raise Conflict(f"camera {camera_id} has no ONVIF address")


async def never(scope: Scope, camera_id: int) -> PtzCamera:
    raise AssertionError("the role is checked first")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER])
async def test_a_role_without_the_ptz_right_is_refused_before_any_lookup(role: Role) -> None:
    trail = Trail()
    service = PtzService(never, Head(trail), trail)
    with pytest.raises(PermissionDenied):
        await service.move(caller(role), 5, PtzMove(pan=1))
    with pytest.raises(PermissionDenied):
        await service.presets(caller(role), 5)
    assert trail.records == []


async def test_every_command_is_audited_before_it_is_sent() -> None:
    trail = Trail()
    head = Head(trail)
    service = PtzService(found, head, trail)
    scope = caller(Role.OPERATOR)
    await service.move(scope, 5, PtzMove(pan=0.5, timeout_s=2), "10.9.9.9")
    await service.stop(scope, 5)
    await service.set_preset(scope, 5, PtzPresetDraft(name="gate"))
    await service.presets(scope, 5)
    await service.goto_preset(scope, 5, "1")
    assert head.commands == [("move", 1), ("stop", 2), ("set", 3), ("presets", 4), ("goto", 5)]
    assert [r[0] for r in trail.records] == [
        "ptz.move",
        "ptz.stop",
        "ptz.preset.set",
        "ptz.presets",
        "ptz.preset.goto",
    ]
    assert trail.records[0] == (
        "ptz.move",
        "device:5",
        {
            "camera": "gate",
            "pan": 0.5,
            "tilt": 0.0,
            "zoom": 0.0,
            "timeout_s": 2.0,
            "source": "10.9.9.9",
        },
    )


async def test_a_camera_the_lookup_refuses_is_neither_audited_nor_driven() -> None:
    trail = Trail()
    head = Head(trail)
    with pytest.raises(Conflict):
        await PtzService(no_onvif, head, trail).stop(caller(Role.OPERATOR), 5)
    assert (trail.records, head.commands) == ([], [])
