"""Playback: an HLS playlist of a camera's recording for a time range, and the recorded files it
addresses by byte range (served with HTTP Range support).

A browser player (hls.js, a `<video>` element) fetches the playlist and its segments itself and
cannot always add an `Authorization` header, so these two routes also take the caller's token
as `?token=`; a playlist fetched that way carries the token on its segment URIs too. Header
credentials win when both are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse

from safecity.api.deps import Svc, bearer_token, client_address, scoped, services
from safecity.core.policy import Action, Resource
from safecity.core.scope import Scope

PLAYLIST_TYPE: Final = "application/vnd.apple.mpegurl"
SEGMENT_TYPE: Final = "video/mp4"
MAX_TOKEN_LENGTH: Final = 512

router = APIRouter(prefix="/api/cameras", tags=["playback"])
READ = scoped(Resource.PLAYBACK, Action.READ)

CameraId = Annotated[int, Path(ge=1, le=2**62, description="The camera's device id")]
SegmentId = Annotated[int, Path(ge=1, le=2**62, description="A recorded segment's id")]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller, and the token it sent in the query (to carry on to segment URIs)."""

    scope: Scope
    query_token: str | None


async def viewer(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
    token: Annotated[
        str | None,
        Query(
            max_length=MAX_TOKEN_LENGTH,
            description="The caller's token, for players that cannot send a header",
        ),
    ] = None,
) -> Viewer:
    from_query = token if token and not (authorization or x_api_key) else None
    secret = from_query or bearer_token(authorization, x_api_key)
    scope = await services(request).tokens.resolve(secret, client_address(request))
    return Viewer(scope, from_query)


Caller = Annotated[Viewer, Depends(viewer)]


@router.get(
    "/{camera_id}/playback.m3u8",
    response_class=Response,
    responses={200: {"content": {PLAYLIST_TYPE: {}}, "description": "HLS media playlist"}},
    **READ,
)
async def playback_playlist(
    camera_id: CameraId,
    caller: Caller,
    svc: Svc,
    start: Annotated[datetime, Query(description="Range start, ISO 8601 (UTC if no offset)")],
    end: Annotated[datetime, Query(description="Range end, ISO 8601 (UTC if no offset)")],
) -> Response:
    """The camera's recording over `[start, end)` as an HLS playlist (RFC 8216, fMP4 byte
    ranges); a range reaching the present is an EVENT playlist that players reload. Audited."""
    suffix = "" if caller.query_token is None else f"?token={quote(caller.query_token, safe='')}"

    def uri(segment_id: int) -> str:
        return f"recordings/{segment_id}.mp4{suffix}"

    text = await svc.playback.playlist(caller.scope, camera_id, start, end, uri=uri)
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/{camera_id}/recordings/{segment_id}.mp4",
    response_class=FileResponse,
    responses={200: {"content": {SEGMENT_TYPE: {}}, "description": "The recorded file"}},
    **READ,
)
async def recorded_segment(
    camera_id: CameraId, segment_id: SegmentId, caller: Caller, svc: Svc
) -> FileResponse:
    """One recorded fragmented-MP4 file of the camera; honours `Range` (206 partial content)."""
    path = await svc.playback.segment_file(caller.scope, camera_id, segment_id)
    return FileResponse(path, media_type=SEGMENT_TYPE, headers={"Cache-Control": "private"})
