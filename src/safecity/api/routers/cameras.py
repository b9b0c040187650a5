"""Cameras' live video: a JPEG snapshot, the fragmented-MP4 WebSocket a browser's Media Source
Extensions play, and the page with the player.

`/api/cameras/{id}/live` (WebSocket): the token comes as `?token=` (browsers cannot set headers
on a WebSocket) or an `Authorization` header. The first message is JSON `{"codec": ..., "camera":
id, "name": ..., "width": ..., "height": ...}`, then binary messages: the init segment, then one
`moof`+`mdat` fragment per frame, starting at the latest keyframe. A new JSON message and init
segment follow if the camera's stream changes. A refused viewer is accepted, then closed with
1008 (not signed in, not allowed, or no such camera: the reason does not say which of the last
two) or 1013 (no video on this node). Who may watch and the audit record are the live service's.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, Request, WebSocket
from fastapi.responses import HTMLResponse, Response

from safecity.api.deps import PUBLIC, CallerScope, Services, Svc, client_address, scoped
from safecity.api.ws_session import POLICY_VIOLATION, accept_caller, until_either_ends
from safecity.core.errors import (
    DeviceUnavailable,
    NotFound,
    PermissionDenied,
)
from safecity.core.policy import Action, Resource
from safecity.media.fragmenter import InitSegment
from safecity.media.live import LiveView

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
pages = APIRouter(tags=["ui"])
LIVE: Final = scoped(Resource.LIVE, Action.READ)
_TRY_AGAIN_LATER: Final = 1013
_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the page's URL carries the token
    "Content-Security-Policy": (
        "default-src 'self'; media-src 'self' blob:; connect-src 'self'; object-src 'none'"
    ),
}
CameraPath = Annotated[int, Path(ge=1, le=2**62, description="Camera (device) id")]


def _static(name: str) -> str:
    return (resources.files("safecity.ui") / "static" / name).read_text(encoding="utf-8")


@router.get(
    "/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The latest keyframe as JPEG"},
        503: {"description": "The camera has no video yet"},
    },
    **LIVE,
)
async def get_snapshot(
    camera_id: CameraPath, scope: CallerScope, svc: Svc, request: Request
) -> Response:
    """The camera's latest keyframe as a JPEG (audited as `live.snapshot`)."""
    jpeg = await svc.live.snapshot(scope, camera_id, client_address(request))
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@pages.get("/live/{camera_id}", response_class=HTMLResponse, **PUBLIC)
async def live_page(camera_id: CameraPath) -> HTMLResponse:  # noqa: ARG001 (the page reads it)
    """The live player page (static: the WebSocket it opens checks the caller)."""
    return HTMLResponse(_static("live.html"), headers=_PAGE_HEADERS)


@pages.get("/playback/{camera_id}", response_class=HTMLResponse, **PUBLIC)
async def playback_page(camera_id: CameraPath) -> HTMLResponse:  # noqa: ARG001 (the page reads it)
    """The recording player page, for `?start=&end=` (ISO 8601; default: the last 10 minutes).
    Static: the playlist and files it fetches check the caller and audit the viewing."""
    return HTMLResponse(_static("playback.html"), headers=_PAGE_HEADERS)


@router.websocket("/{camera_id}/live")
async def live(
    websocket: WebSocket,
    camera_id: CameraPath,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> None:
    caller = await accept_caller(websocket, token)
    if caller is None:
        return
    svc: Services = websocket.app.state.services
    try:
        view = await svc.live.open(caller.scope, camera_id, caller.source)
    except (NotFound, PermissionDenied):
        await websocket.close(code=POLICY_VIOLATION, reason=f"camera {camera_id} not available")
        return
    except DeviceUnavailable as exc:
        await websocket.close(code=_TRY_AGAIN_LATER, reason=str(exc)[:120])
        return
    try:
        # Whichever ends first ends the view: the client leaving or the channel stopping.
        await until_either_ends(websocket, _drain(websocket), _forward(websocket, view))
    finally:
        view.close()


async def _forward(websocket: WebSocket, view: LiveView) -> None:
    async for item in view.viewer:
        if isinstance(item, InitSegment):
            await websocket.send_json(
                {
                    "codec": item.codec,
                    "camera": view.camera.id,
                    "name": view.camera.name,
                    "width": item.width,
                    "height": item.height,
                }
            )
        await websocket.send_bytes(item.data)
        view.viewer.sent(item)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client frames so a disconnect is noticed while the camera is quiet."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
