"""Pre-alarm clips from the cameras' memory, as one fragmented MP4 each (no transcoding).

`/api/alarms/{alarm}/clip.mp4?camera=`: what the operator console plays on opening an alarm,
from `media.alarm_pre_s` before it was raised to now, on the named camera (default: the alarm's
first linked camera). `/api/cameras/{camera}/clip.mp4?since=|seconds=`: the building block, any
start the ring still holds. Both answer with headers saying what the clip covers:
`X-Clip-Since` (where it was asked to start), `X-Clip-Start` (where it does: the keyframe at or
before, or the ring's oldest when that is later, so the console plays the rest from recorded
playback), `X-Clip-End`, all ISO 8601 UTC, and `X-Clip-Frames`. 404 when the camera has nothing
in memory (offline, or not recorded on this node) and, for an alarm, when its memory no longer
reaches back to the alarm; 503 when the ingest worker recording the camera does not answer in
time (busy or restarting: try again). A `<video>` element cannot send headers: `?token=` works,
as for playback. Access and audit are the clip service's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from safecity.api.deps import Svc, client_address, scoped
from safecity.api.routers.playback import Caller
from safecity.core.policy import Action, Resource
from safecity.media.prealarm import ServedClip

CLIP_TYPE: Final = "video/mp4"
MAX_SECONDS: Final = 300  # the longest ring `media.ring_s` allows

router = APIRouter(tags=["playback"])
READ = scoped(Resource.PLAYBACK, Action.READ)
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {CLIP_TYPE: {}}, "description": "Fragmented MP4 (init, then fragments)"},
    404: {"description": "No such camera or alarm, or nothing of it in memory"},
    503: {"description": "The camera's ingest worker did not answer in time"},
}

CameraId = Annotated[int, Path(ge=1, le=2**62, description="The camera's device id")]
AlarmId = Annotated[int, Path(ge=1, le=2**62, description="The alarm's id")]


@router.get(
    "/api/cameras/{camera_id}/clip.mp4",
    response_class=Response,
    responses=_RESPONSES,
    **READ,
)
async def camera_clip(
    camera_id: CameraId,
    caller: Caller,
    svc: Svc,
    request: Request,
    since: Annotated[
        datetime | None, Query(description="Start, ISO 8601 (UTC if no offset); default: all")
    ] = None,
    seconds: Annotated[
        float | None, Query(gt=0, le=MAX_SECONDS, description="Or start this many seconds ago")
    ] = None,
) -> Response:
    """The camera's memory from the keyframe at or before `since` to now. Audited."""
    served = await svc.clips.camera_clip(
        caller.scope, camera_id, since=since, seconds=seconds, source=client_address(request)
    )
    return _response(served)


@router.get(
    "/api/alarms/{alarm_id}/clip.mp4",
    response_class=Response,
    responses=_RESPONSES,
    **READ,
)
async def alarm_clip(
    alarm_id: AlarmId,
    caller: Caller,
    svc: Svc,
    request: Request,
    camera: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="Camera (device) id; default: the first linked one"),
    ] = None,
) -> Response:
    """The alarm's pre-alarm clip from memory: from `media.alarm_pre_s` before it was raised to
    now. Audited."""
    served = await svc.clips.alarm_clip(caller.scope, alarm_id, camera, client_address(request))
    return _response(served)


def _response(served: ServedClip) -> Response:
    clip = served.clip
    headers = {
        "Cache-Control": "no-store",
        "X-Clip-Since": served.since.isoformat(),
        "X-Clip-Start": clip.start.isoformat(),
        "X-Clip-End": clip.end.isoformat(),
        "X-Clip-Frames": str(clip.frames),
    }
    return Response(clip.data, media_type=CLIP_TYPE, headers=headers)
