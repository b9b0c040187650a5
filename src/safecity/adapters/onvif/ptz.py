"""PTZ of one ONVIF camera (PTZ Service Specification, ver20 WSDL), by media profile token.

Positions and speeds are in the generic spaces (pan, tilt in [-1, 1]; zoom in [0, 1]), which
every ONVIF PTZ camera supports; a move with no space named uses them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from safecity.adapters.onvif.models import PtzPreset, PtzStatus, PtzVector, vector_from
from safecity.core.errors import RemoteProtocolError

if TYPE_CHECKING:
    from safecity.adapters.onvif.camera import OnvifCamera


class PtzControl:
    """`camera.ptz`: moves, stop, status and presets of the camera's PTZ node."""

    def __init__(self, camera: OnvifCamera) -> None:
        self._camera = camera

    async def continuous_move(
        self, profile: str, velocity: PtzVector, *, duration: timedelta | None = None
    ) -> None:
        """Move at `velocity` until `stop`, or for `duration` (the camera's default if None)."""
        params: dict[str, Any] = {"ProfileToken": profile, "Velocity": velocity.request()}
        if duration is not None:
            params["Timeout"] = duration
        await self._camera.call("ptz", "ContinuousMove", params)

    async def stop(self, profile: str, *, pan_tilt: bool = True, zoom: bool = True) -> None:
        await self._camera.call(
            "ptz", "Stop", {"ProfileToken": profile, "PanTilt": pan_tilt, "Zoom": zoom}
        )

    async def absolute_move(
        self, profile: str, position: PtzVector, *, speed: PtzVector | None = None
    ) -> None:
        params: dict[str, Any] = {"ProfileToken": profile, "Position": position.request()}
        if speed is not None:
            params["Speed"] = speed.request()
        await self._camera.call("ptz", "AbsoluteMove", params)

    async def relative_move(self, profile: str, translation: PtzVector) -> None:
        await self._camera.call(
            "ptz", "RelativeMove", {"ProfileToken": profile, "Translation": translation.request()}
        )

    async def status(self, profile: str) -> PtzStatus:
        answer = await self._camera.call("ptz", "GetStatus", {"ProfileToken": profile})
        moves = getattr(answer, "MoveStatus", None)
        moving = any(
            str(getattr(moves, axis, "") or "").upper() == "MOVING" for axis in ("PanTilt", "Zoom")
        )
        return PtzStatus(
            position=vector_from(getattr(answer, "Position", None)),
            moving=moving,
            at=getattr(answer, "UtcTime", None),
        )

    async def presets(self, profile: str) -> tuple[PtzPreset, ...]:
        answer = await self._camera.call("ptz", "GetPresets", {"ProfileToken": profile})
        return tuple(
            PtzPreset(
                token=str(preset.token),
                name=str(getattr(preset, "Name", "") or ""),
                position=vector_from(getattr(preset, "PTZPosition", None)),
            )
            for preset in answer or []
        )

    async def set_preset(self, profile: str, name: str, *, token: str | None = None) -> str:
        """Store the current position as preset `name` (a new one, or overwrite `token`);
        returns the preset's token."""
        params: dict[str, Any] = {"ProfileToken": profile, "PresetName": name}
        if token is not None:
            params["PresetToken"] = token
        answer = await self._camera.call("ptz", "SetPreset", params)
        if not answer:
            raise RemoteProtocolError(f"SetPreset at {self._camera.address} gave no token")
        return str(answer)

    async def goto_preset(
        self, profile: str, token: str, *, speed: PtzVector | None = None
    ) -> None:
        params: dict[str, Any] = {"ProfileToken": profile, "PresetToken": token}
        if speed is not None:
            params["Speed"] = speed.request()
        await self._camera.call("ptz", "GotoPreset", params)

    async def remove_preset(self, profile: str, token: str) -> None:
        await self._camera.call(
            "ptz", "RemovePreset", {"ProfileToken": profile, "PresetToken": token}
        )
