"""Cameras' PTZ (pan, tilt, zoom) through ONVIF: continuous moves, stop, and presets.

Steering is the operators' right (`ptz`: admin, supervisor, operator), scoped to the caller's
subtree like every camera route (a camera outside it is 404). A camera without an ONVIF address
is 409; one that does not answer is 503, one that refuses the platform's credentials or the
command is 502. Every call is audited (`ptz.*`) by the PTZ service.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request, status

from safecity.api.deps import CallerScope, Svc, client_address, scoped
from safecity.core.policy import Action, Resource
from safecity.ptz.models import PtzMove, PtzPreset, PtzPresetDraft

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
READ: Final = scoped(Resource.PTZ, Action.READ)
WRITE: Final = scoped(Resource.PTZ, Action.WRITE)
CameraPath = Annotated[int, Path(ge=1, le=2**62, description="Camera (device) id")]
PresetToken = Annotated[
    str, Path(min_length=1, max_length=64, description="The preset's token (from the listing)")
]
_PROBLEM: Final[dict[str, Any]] = {"content": {"application/problem+json": {}}}
DEVICE_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {
    409: {**_PROBLEM, "description": "The camera has no ONVIF address"},
    502: {**_PROBLEM, "description": "The camera refused the credentials or the command"},
    503: {**_PROBLEM, "description": "The camera did not answer"},
}


@router.post(
    "/{camera_id}/ptz/move",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DEVICE_ANSWERS,
    **WRITE,
)
async def move(
    camera_id: CameraPath, body: PtzMove, scope: CallerScope, svc: Svc, request: Request
) -> None:
    """Start a continuous move at the given speeds, until a stop or `timeout_s`."""
    await svc.ptz.move(scope, camera_id, body, client_address(request))


@router.post(
    "/{camera_id}/ptz/stop",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=DEVICE_ANSWERS,
    **WRITE,
)
async def stop(camera_id: CameraPath, scope: CallerScope, svc: Svc, request: Request) -> None:
    """Stop pan, tilt and zoom."""
    await svc.ptz.stop(scope, camera_id, client_address(request))


@router.get("/{camera_id}/ptz/presets", responses=DEVICE_ANSWERS, **READ)
async def presets(
    camera_id: CameraPath, scope: CallerScope, svc: Svc, request: Request
) -> list[PtzPreset]:
    """The camera's presets with their positions."""
    return await svc.ptz.presets(scope, camera_id, client_address(request))


@router.post(
    "/{camera_id}/ptz/presets",
    status_code=status.HTTP_201_CREATED,
    responses=DEVICE_ANSWERS,
    **WRITE,
)
async def set_preset(
    camera_id: CameraPath, body: PtzPresetDraft, scope: CallerScope, svc: Svc, request: Request
) -> PtzPreset:
    """Store the camera's current position as a new preset."""
    return await svc.ptz.set_preset(scope, camera_id, body, client_address(request))


@router.post(
    "/{camera_id}/ptz/presets/{token}/goto",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**DEVICE_ANSWERS, 404: {**_PROBLEM, "description": "No such camera or preset"}},
    **WRITE,
)
async def goto_preset(
    camera_id: CameraPath, token: PresetToken, scope: CallerScope, svc: Svc, request: Request
) -> None:
    """Turn the camera to one of its presets."""
    await svc.ptz.goto_preset(scope, camera_id, token, client_address(request))
