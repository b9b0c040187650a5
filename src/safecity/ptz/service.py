"""PTZ for a caller: check the role, find the camera in the caller's scope, audit, then drive.

The camera lookup and the driver are injected by the composition root (feature packages do not
import the registry or adapters): the lookup raises `NotFound` for a camera outside the
caller's view and `Conflict` for one without an ONVIF address; the driver raises
`DeviceUnavailable` when the camera does not answer, `DeviceAuthFailed` when it refuses the
platform's credentials and `RemoteProtocolError` when it refuses the command. Every command is
audited (`ptz.move`, `ptz.stop`, `ptz.preset.set`, `ptz.preset.goto`, and `ptz.presets` for the
listing) before it is sent, so nothing moves a camera without a record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.ptz.models import PtzCamera, PtzMove, PtzPreset, PtzPresetDraft

_log = structlog.get_logger(__name__)

PtzCameraLookup = Callable[[Scope, int], Awaitable[PtzCamera]]


class PtzDriver(Protocol):
    """What the camera is told (the ONVIF adapter, through the composition root)."""

    async def move(self, camera: PtzCamera, move: PtzMove) -> None: ...

    async def stop(self, camera: PtzCamera) -> None: ...

    async def presets(self, camera: PtzCamera) -> list[PtzPreset]: ...

    async def set_preset(self, camera: PtzCamera, name: str) -> PtzPreset: ...

    async def goto_preset(self, camera: PtzCamera, token: str) -> None:
        """`NotFound` if the camera has no preset `token`."""
        ...


class AuditTrail(Protocol):
    async def record(
        self,
        scope: Scope,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int: ...


class PtzService:
    def __init__(self, cameras: PtzCameraLookup, driver: PtzDriver, audit: AuditTrail) -> None:
        self._cameras = cameras
        self._driver = driver
        self._audit = audit

    async def move(
        self, scope: Scope, camera_id: int, move: PtzMove, source: str | None = None
    ) -> None:
        camera = await self._steerable(scope, camera_id, Action.WRITE)
        await self._record(scope, camera, "ptz.move", source, move.model_dump(exclude_none=True))
        await self._driver.move(camera, move)

    async def stop(self, scope: Scope, camera_id: int, source: str | None = None) -> None:
        camera = await self._steerable(scope, camera_id, Action.WRITE)
        await self._record(scope, camera, "ptz.stop", source)
        await self._driver.stop(camera)

    async def presets(
        self, scope: Scope, camera_id: int, source: str | None = None
    ) -> list[PtzPreset]:
        camera = await self._steerable(scope, camera_id, Action.READ)
        await self._record(scope, camera, "ptz.presets", source)
        return await self._driver.presets(camera)

    async def set_preset(
        self, scope: Scope, camera_id: int, draft: PtzPresetDraft, source: str | None = None
    ) -> PtzPreset:
        """Store the camera's current position as a new preset."""
        camera = await self._steerable(scope, camera_id, Action.WRITE)
        await self._record(scope, camera, "ptz.preset.set", source, {"name": draft.name})
        return await self._driver.set_preset(camera, draft.name)

    async def goto_preset(
        self, scope: Scope, camera_id: int, token: str, source: str | None = None
    ) -> None:
        camera = await self._steerable(scope, camera_id, Action.WRITE)
        await self._record(scope, camera, "ptz.preset.goto", source, {"token": token})
        await self._driver.goto_preset(camera, token)

    async def _steerable(self, scope: Scope, camera_id: int, action: Action) -> PtzCamera:
        require(scope, Resource.PTZ, action)  # the role first: 403 whatever the camera
        return await self._cameras(scope, camera_id)

    async def _record(
        self,
        scope: Scope,
        camera: PtzCamera,
        action: str,
        source: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        full: dict[str, Any] = {"camera": camera.name, **(detail or {})}
        if source is not None:
            full["source"] = source
        await self._audit.record(scope, action, f"device:{camera.id}", camera.org_path, full)
        _log.info(action, camera=camera.id, user=scope.username)
