"""Pre-alarm clips from the rings: the asked start picks the keyframe, an alarm's clip begins
`pre_s` before it, access is checked (playback right) before the ring is read, every clip
served is audited, and a camera with nothing in memory, or a ring that no longer reaches the
alarm, is not found."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from safecity.core.errors import NotFound, PermissionDenied, ValidationFailed
from safecity.core.scope import Scope
from safecity.media.prealarm import AlarmRef, ClipOptions, PreAlarmClips
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.tap import Gop, StreamInfo
from safecity.testing.clock import FakeClock
from tests.unit.media.conftest import T0
from tests.unit.media.live_fixture import footage_packets
from tests.unit.media.test_live import (
    CAMERA,
    OPERATOR,
    OUTSIDER,
    PARTNER,
    PLAYBACK_PARTNER,
    Audit,
    lookup,
)

ALARM = AlarmRef(id=11, raised_at=T0 + timedelta(seconds=20), cameras=(CAMERA.id,))
UNLINKED = AlarmRef(id=12, raised_at=T0 + timedelta(seconds=20), cameras=())
OPTIONS = ClipOptions(pre_s=8.0, ring_s=3600.0)


class Rings:
    """The recording service's side: a ring and the stream of each camera, and who asked."""

    def __init__(self, stream: StreamInfo, packets: list[RingPacket]) -> None:
        self.stream = stream
        self.rings = {CAMERA.id: RingBuffer(3600)}
        for packet in packets:
            self.rings[CAMERA.id].push(packet)
        self.asked: list[tuple[int, datetime]] = []

    async def packets_since(self, camera_id: int, at: datetime) -> Gop | None:
        self.asked.append((camera_id, at))
        ring = self.rings.get(camera_id)
        packets = [] if ring is None else ring.since(at)
        return Gop(self.stream, packets) if packets else None


async def alarms(scope: Scope, alarm_id: int) -> AlarmRef:
    for alarm in (ALARM, UNLINKED):
        if alarm.id == alarm_id and scope.sees_point(CAMERA.point_id, CAMERA.org_path):
            return alarm
    raise NotFound(f"alarm {alarm_id} not found")


@pytest.fixture
def arrivals(footage: Path) -> Iterator[tuple[StreamInfo, list[RingPacket]]]:
    """The footage as it arrived: from T0, each packet at its decode time (12.5 fps, a
    keyframe every 4.8 s: at 0, 4.8, 9.6, 14.4, 19.2, 24 and 28.8 s)."""
    with footage_packets(footage) as clip:
        first = clip.packets[0].dts
        packets = [
            p._replace(at=T0 + timedelta(seconds=float((p.dts - first) * p.time_base)))
            for p in clip.packets
        ]
        yield clip.stream, packets


def desk(
    arrivals: tuple[StreamInfo, list[RingPacket]], start: float = 0.0
) -> tuple[PreAlarmClips, Rings, Audit]:
    """A clip service whose camera's ring holds the footage from `start` seconds on; the clock
    just after its last packet."""
    stream, packets = arrivals
    rings = Rings(stream, [p for p in packets if p.at >= T0 + timedelta(seconds=start)])
    clock = FakeClock(packets[-1].at + timedelta(seconds=0.1))
    audit = Audit()
    return PreAlarmClips(lookup, alarms, audit, rings, clock, OPTIONS), rings, audit


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def keyframe_times(packets: list[RingPacket]) -> list[datetime]:
    return [p.at for p in packets if p.keyframe]


async def test_a_camera_clip_starts_at_the_keyframe_before_the_asked_time_and_is_audited(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, audit = desk(arrivals)
    packets = arrivals[1]

    served = await clips.camera_clip(OPERATOR, CAMERA.id, since=at(10), source="10.0.0.9")

    key = keyframe_times(packets)[2]
    assert key <= at(10) < keyframe_times(packets)[3]
    assert served.since == at(10)
    assert served.clip.start == key
    assert served.clip.frames == sum(1 for p in packets if p.at >= key)
    assert rings.asked == [(CAMERA.id, at(10))]
    assert audit.records == [
        (
            "op",
            "playback.clip",
            "device:7",
            "/1/2/",
            {
                "camera": "Gate",
                "since": at(10).isoformat(),
                "start": key.isoformat(),
                "end": served.clip.end.isoformat(),
                "frames": served.clip.frames,
                "source": "10.0.0.9",
            },
        )
    ]


async def test_seconds_back_no_start_and_a_naive_time_are_read_against_the_clock(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, _ = desk(arrivals)
    now = arrivals[1][-1].at + timedelta(seconds=0.1)

    back = await clips.camera_clip(OPERATOR, CAMERA.id, seconds=5)
    everything = await clips.camera_clip(OPERATOR, CAMERA.id)
    naive = await clips.camera_clip(OPERATOR, CAMERA.id, since=at(10).replace(tzinfo=None))

    assert back.since == now - timedelta(seconds=5)
    assert back.clip.start == keyframe_times(arrivals[1])[5]  # 24 s: the keyframe before 25.2 s
    assert everything.since == now - timedelta(seconds=OPTIONS.ring_s)
    assert everything.clip.start == T0
    assert everything.clip.frames == len(arrivals[1])
    assert naive.since == at(10)
    assert len(rings.asked) == 3


async def test_a_bad_start_is_refused_before_anything_is_read(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, audit = desk(arrivals)

    with pytest.raises(ValidationFailed, match="not both"):
        await clips.camera_clip(OPERATOR, CAMERA.id, since=at(10), seconds=5)
    with pytest.raises(ValidationFailed, match="future"):
        await clips.camera_clip(OPERATOR, CAMERA.id, since=at(3600))

    assert rings.asked == []
    assert audit.records == []


async def test_a_start_older_than_the_ring_gives_the_ring_and_says_where_it_starts(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, _, _ = desk(arrivals, start=14)

    served = await clips.camera_clip(OPERATOR, CAMERA.id, since=at(2))

    assert served.since == at(2)
    assert served.clip.start == keyframe_times(arrivals[1])[3]  # 14.4 s: the ring's first


async def test_a_camera_with_nothing_in_memory_is_not_found_and_not_audited(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, audit = desk(arrivals)
    rings.rings.clear()
    nowhere = PreAlarmClips(lookup, alarms, audit, None, FakeClock(at(40)), OPTIONS)

    with pytest.raises(NotFound, match="no video in memory"):
        await clips.camera_clip(OPERATOR, CAMERA.id, since=at(10))
    with pytest.raises(NotFound, match="no video in memory"):
        await nowhere.alarm_clip(OPERATOR, ALARM.id)
    assert audit.records == []


async def test_access_is_checked_before_the_ring_is_read(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, audit = desk(arrivals)

    with pytest.raises(NotFound):
        await clips.camera_clip(OUTSIDER, CAMERA.id, since=at(10))
    with pytest.raises(NotFound):
        await clips.alarm_clip(OUTSIDER, ALARM.id)
    with pytest.raises(PermissionDenied, match="playback right"):  # live alone is not enough
        await clips.camera_clip(PARTNER, CAMERA.id, since=at(10))
    assert rings.asked == []
    assert audit.records == []
    served = await clips.camera_clip(PLAYBACK_PARTNER, CAMERA.id, since=at(10))
    assert served.camera == CAMERA
    assert [record[0] for record in audit.records] == ["city"]


async def test_an_alarm_clip_starts_pre_s_before_the_alarm_on_its_first_camera(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, rings, audit = desk(arrivals)

    served = await clips.alarm_clip(OPERATOR, ALARM.id, source="10.0.0.9")

    assert served.since == ALARM.raised_at - timedelta(seconds=OPTIONS.pre_s) == at(12)
    assert served.clip.start == keyframe_times(arrivals[1])[2]  # 9.6 s, the keyframe before
    assert rings.asked == [(CAMERA.id, at(12))]
    detail = audit.records[-1][4]
    assert detail is not None
    assert detail["alarm"] == ALARM.id
    assert (detail["since"], detail["source"]) == (at(12).isoformat(), "10.0.0.9")


async def test_an_alarm_without_linked_cameras_needs_one_named(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, _, _ = desk(arrivals)

    with pytest.raises(NotFound, match="no linked camera"):
        await clips.alarm_clip(OPERATOR, UNLINKED.id)
    served = await clips.alarm_clip(OPERATOR, UNLINKED.id, CAMERA.id)

    assert served.camera == CAMERA
    assert served.since == at(12)


async def test_a_ring_that_no_longer_reaches_the_alarm_is_not_its_clip(
    arrivals: tuple[StreamInfo, list[RingPacket]],
) -> None:
    clips, _, audit = desk(arrivals, start=21)  # the ring starts at 24 s, after the alarm (20 s)
    partly, _, _ = desk(arrivals, start=15)  # at 19.2 s: after the asked 12 s, before the alarm

    with pytest.raises(NotFound, match="use recorded playback"):
        await clips.alarm_clip(OPERATOR, ALARM.id)
    assert audit.records == []
    served = await partly.alarm_clip(OPERATOR, ALARM.id)
    assert served.since == at(12)
    assert served.clip.start == keyframe_times(arrivals[1])[4]
