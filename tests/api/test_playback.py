"""The playback routes' HTTP rules: ranges as problem+json, byte ranges, and `?token=`."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from safecity.core.scope import Role
from safecity.media.records import SegmentRecord

from .conftest import World

START = datetime(2025, 1, 1, 8, tzinfo=UTC)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


# The top-level boxes of a fragmented MP4 (playback reads only those), with filler payloads.
BODY = box(b"ftyp", b"isom") + box(b"moov", b"m" * 100) + box(b"moof", b"f" * 50)
BODY += box(b"mdat", bytes(range(256)) * 4)


async def add_segment(world: World, camera: int) -> int:
    relative = PurePosixPath(str(camera), "2025", "segment.mp4")
    target = world.platform.recordings.root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(BODY)
    record = SegmentRecord(
        camera, START, START + timedelta(seconds=2), len(BODY), relative, "h264", 50
    )
    return await world.platform.recordings.add_segment(record)


def playlist_url(world: World, key: str = "device_in") -> str:
    return f"/api/cameras/{world.ids[key]}/playback.m3u8"


async def test_a_range_that_ends_before_it_starts_is_a_problem(world: World) -> None:
    response = await world.client.get(
        playlist_url(world),
        params={"start": "2025-01-01T09:00:00Z", "end": "2025-01-01T08:00:00Z"},
        headers=world.auth(Role.OPERATOR),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "end"


async def test_an_unreadable_time_is_a_problem(world: World) -> None:
    response = await world.client.get(
        playlist_url(world),
        params={"start": "yesterday", "end": "2025-01-01T08:00:00Z"},
        headers=world.auth(Role.OPERATOR),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "start"


async def test_a_camera_outside_the_scope_is_not_found(world: World) -> None:
    response = await world.client.get(
        playlist_url(world, "device_out"),
        params={"start": "2025-01-01T08:00:00Z", "end": "2025-01-01T09:00:00Z"},
        headers=world.auth(Role.ADMIN),
    )

    assert response.status_code == 404


async def test_a_partner_with_only_live_on_the_camera_is_forbidden(world: World) -> None:
    response = await world.client.get(
        playlist_url(world, "device_shared"),
        params={"start": "2025-01-01T08:00:00Z", "end": "2025-01-01T09:00:00Z"},
        headers=world.auth(Role.PARTNER),
    )

    assert response.status_code == 403


async def test_a_recorded_file_is_served_whole_or_by_byte_range(world: World) -> None:
    camera = world.ids["device_in"]
    url = f"/api/cameras/{camera}/recordings/{await add_segment(world, camera)}.mp4"
    headers = world.auth(Role.VIEWER)

    whole = await world.client.get(url, headers=headers)
    part = await world.client.get(url, headers={**headers, "Range": "bytes=100-299"})

    assert whole.status_code == 200
    assert whole.content == BODY
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    assert part.status_code == 206
    assert part.content == BODY[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{len(BODY)}"


async def test_a_segment_of_another_camera_is_not_found(world: World) -> None:
    segment = await add_segment(world, world.ids["device_out"])
    url = f"/api/cameras/{world.ids['device_in']}/recordings/{segment}.mp4"

    response = await world.client.get(url, headers=world.auth(Role.ADMIN))

    assert response.status_code == 404


async def test_the_token_may_come_in_the_query_and_is_carried_to_segment_uris(
    world: World,
) -> None:
    camera = world.ids["device_in"]
    await add_segment(world, camera)
    token = world.tokens[Role.OPERATOR]
    window = {"start": "2025-01-01T08:00:00Z", "end": "2025-01-01T08:00:10Z"}

    playlist = await world.client.get(playlist_url(world), params={**window, "token": token})
    wrong = await world.client.get(playlist_url(world), params={**window, "token": "nope"})
    plain = await world.client.get(
        playlist_url(world), params=window, headers=world.auth(Role.ADMIN)
    )

    assert playlist.status_code == 200, playlist.text
    assert playlist.headers["cache-control"] == "no-store"
    uris = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert uris
    assert all(uri.endswith(f".mp4?token={token}") for uri in uris)
    assert wrong.status_code == 401
    assert plain.status_code == 200
    assert "token=" not in plain.text
