"""The live service: access and audit before any video, one shared fragmenter per camera that
runs only while someone watches, a first viewer started from the ring, and snapshots."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import av
import pytest

from safecity.core.errors import DeviceUnavailable, NotFound, PermissionDenied
from safecity.core.scope import Right, Role, Scope
from safecity.media.cameras import CameraRef
from safecity.media.fanout import ViewerLimits
from safecity.media.fragmenter import InitSegment, LiveItem, MediaFragment
from safecity.media.live import LiveOptions, LiveService, LiveView
from safecity.media.ring import RingBuffer
from safecity.media.tap import Gop, PacketTap
from tests.unit.media.live_fixture import Footage, decoded_frames, footage_packets, kinds

CAMERA = CameraRef(id=7, gb_id="44030401001320000007", point_id=3, org_path="/1/2/", name="Gate")
OPERATOR = Scope(user_id=1, username="op", role=Role.OPERATOR, org_path="/1/", source="10.0.0.9")
OUTSIDER = Scope(user_id=2, username="far", role=Role.OPERATOR, org_path="/9/")
PARTNER = Scope(
    user_id=3,
    username="traffic",
    role=Role.PARTNER,
    org_path="/5/",
    shared_points=frozenset({3}),
    rights_by_point={3: frozenset({Right.LIVE})},
)
PLAYBACK_PARTNER = Scope(
    user_id=4,
    username="city",
    role=Role.PARTNER,
    org_path="/6/",
    shared_points=frozenset({3}),
    rights_by_point={3: frozenset({Right.PLAYBACK})},
)


class Sources:
    """The recording service's side: a ring and a tap per camera."""

    def __init__(self) -> None:
        self.rings: dict[int, RingBuffer] = {CAMERA.id: RingBuffer(3600)}
        self.taps: dict[int, PacketTap] = {}

    def ring(self, camera_id: int) -> RingBuffer | None:
        return self.rings.get(camera_id)

    def tap(self, camera_id: int) -> PacketTap:
        return self.taps.setdefault(camera_id, PacketTap())

    async def current_gop(self, camera_id: int) -> Gop | None:
        ring, stream = self.rings.get(camera_id), self.tap(camera_id).source
        packets = [] if ring is None else ring.last(0)
        return Gop(stream, packets) if stream is not None and packets else None


class Audit:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, str, dict[str, Any] | None]] = []

    async def record(
        self,
        scope: Scope,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        self.records.append((scope.username, action, target, org_path, detail))
        return len(self.records)


async def lookup(scope: Scope, camera_id: int) -> CameraRef:
    if camera_id != CAMERA.id or not scope.sees_point(CAMERA.point_id, CAMERA.org_path):
        raise NotFound(f"camera {camera_id} not found")
    return CAMERA


def service(sources: Sources | None = None) -> tuple[LiveService, Sources, Audit]:
    sources = sources or Sources()
    audit = Audit()
    # The tests push a whole clip before reading: room for all of it in each queue.
    options = LiveOptions(limits=ViewerLimits(max_fragments=1000))
    return LiveService(lookup, audit, sources, options), sources, audit


def play(sources: Sources, clip: Footage, start: int = 0, end: int | None = None) -> None:
    """What the recorder thread does with each packet: listeners first, then the ring."""
    tap, ring = sources.tap(CAMERA.id), sources.rings[CAMERA.id]
    for packet in clip.packets[start:end]:
        tap.packet(clip.stream, packet, time.monotonic())
        ring.push(packet)


async def receive(view: LiveView, count: int) -> list[LiveItem]:
    async with asyncio.timeout(10):
        return [await view.viewer.next() for _ in range(count)]


async def test_two_viewers_share_one_listener_that_stops_with_the_last(footage: Path) -> None:
    live, sources, _ = service()
    one = await live.open(OPERATOR, CAMERA.id)
    two = await live.open(PARTNER, CAMERA.id)
    tap = sources.tap(CAMERA.id)
    assert len(tap.listeners) == 1
    with footage_packets(footage) as clip:
        await asyncio.to_thread(play, sources, clip)
        frames = len(clip.packets)
    first, second = await receive(one, frames + 1), await receive(two, frames + 1)
    assert [id(i) for i in first] == [id(i) for i in second]
    assert isinstance(first[0], InitSegment)
    assert first[0].codec == "avc1.428016"
    assert decoded_frames(first) == frames
    one.close()
    assert len(tap.listeners) == 1
    two.close()
    assert not tap.listeners
    assert live.channel(CAMERA.id) is None


async def test_the_first_viewer_starts_at_once_from_the_current_gop_in_the_ring(
    footage: Path,
) -> None:
    live, sources, _ = service()
    with footage_packets(footage) as clip:
        keys = [i for i, p in enumerate(clip.packets) if p.keyframe]
        middle = keys[1] + 20  # the ring holds 20 frames of the second GOP and earlier GOPs
        await asyncio.to_thread(play, sources, clip, 0, middle)
        view = await live.open(OPERATOR, CAMERA.id)
        await asyncio.to_thread(play, sources, clip, middle, middle + 1)
        items = await receive(view, 1 + 21)
    assert kinds(items)[:2] == ["init", "key"]
    replayed = [i for i in items if isinstance(i, MediaFragment) and not i.live]
    assert len(replayed) == 20
    assert isinstance(items[-1], MediaFragment)
    assert items[-1].live
    assert decoded_frames(items) == 21
    view.close()


async def test_every_live_view_is_audited_with_who_which_camera_and_from_where() -> None:
    live, _, audit = service()
    view = await live.open(OPERATOR, CAMERA.id, "10.0.0.9")
    view.close()
    assert audit.records == [
        ("op", "live.view", "device:7", "/1/2/", {"camera": "Gate", "source": "10.0.0.9"})
    ]


async def test_a_camera_out_of_scope_is_not_found_and_not_audited() -> None:
    live, sources, audit = service()
    with pytest.raises(NotFound):
        await live.open(OUTSIDER, CAMERA.id)
    assert audit.records == []
    assert sources.taps == {}


async def test_a_partner_without_the_live_right_is_refused() -> None:
    live, _, audit = service()
    with pytest.raises(PermissionDenied):
        await live.open(PLAYBACK_PARTNER, CAMERA.id)
    with pytest.raises(PermissionDenied):
        await live.snapshot(PLAYBACK_PARTNER, CAMERA.id)
    assert audit.records == []


async def test_a_node_that_records_nothing_says_so_after_the_access_check() -> None:
    live = LiveService(lookup, Audit(), None)
    with pytest.raises(NotFound):
        await live.open(OUTSIDER, CAMERA.id)
    with pytest.raises(DeviceUnavailable):
        await live.open(OPERATOR, CAMERA.id)


async def test_a_snapshot_is_a_jpeg_of_the_latest_keyframe_at_the_camera_size(
    footage: Path,
) -> None:
    live, sources, audit = service()
    with footage_packets(footage) as clip:
        sources.tap(CAMERA.id).opened(clip.stream)
        play(sources, clip, 0, 200)
        jpeg = await live.snapshot(OPERATOR, CAMERA.id, "10.0.0.9")
    assert jpeg.startswith(b"\xff\xd8")
    with av.open(io.BytesIO(jpeg), "r") as image:
        frame = next(image.decode(video=0))
    assert (frame.width, frame.height) == (768, 432)
    assert audit.records[-1][1] == "live.snapshot"


async def test_a_snapshot_before_any_video_is_unavailable(footage: Path) -> None:
    live, _, audit = service()
    with pytest.raises(DeviceUnavailable, match="no video yet"):
        await live.snapshot(OPERATOR, CAMERA.id)
    assert audit.records == []
