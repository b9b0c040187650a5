"""The per-camera ring buffer of the last seconds of packets."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av

from safecity.media.ring import RingBuffer, RingPacket
from tests.unit.media.conftest import T0

TB = Fraction(1, 90_000)
FRAME = 3600  # 25 fps


def packet(index: int, *, gop: int = 25) -> RingPacket:
    return RingPacket(
        data=bytes([index % 256]) * 10,
        pts=index * FRAME,
        dts=index * FRAME,
        duration=FRAME,
        time_base=TB,
        keyframe=index % gop == 0,
        at=T0 + timedelta(seconds=index / 25),
    )


def filled(seconds: float, frames: int) -> RingBuffer:
    ring = RingBuffer(seconds)
    for index in range(frames):
        ring.push(packet(index))
    return ring


def test_the_ring_keeps_at_least_its_seconds_and_starts_at_a_keyframe() -> None:
    ring = filled(3, 25 * 10)  # ten seconds, a keyframe each second

    kept = ring.last(60)
    assert kept[0].keyframe
    assert 3 <= ring.span_s() < 4
    assert kept[-1].pts == (25 * 10 - 1) * FRAME


def test_packets_before_the_first_keyframe_are_not_kept() -> None:
    ring = RingBuffer(3)
    for index in range(5, 30):
        ring.push(packet(index))

    assert ring.last(60)[0].pts == 25 * FRAME


def test_since_starts_at_the_last_keyframe_before_the_alarm() -> None:
    ring = filled(30, 25 * 10)

    clip = ring.since(T0 + timedelta(seconds=6.5))

    assert clip[0].keyframe
    assert clip[0].pts == 6 * 25 * FRAME
    assert len(clip) == 25 * 4


def test_last_gives_about_the_asked_seconds_from_a_keyframe() -> None:
    ring = filled(30, 25 * 10)

    clip = ring.last(2.5)

    assert clip[0].keyframe
    assert clip[0].pts == 7 * 25 * FRAME  # 3 s back: the newest keyframe with 2.5 s after it


def test_media_time_going_back_starts_the_ring_afresh() -> None:
    ring = filled(30, 60)

    ring.push(packet(0))

    assert len(ring) == 1


def test_a_ring_packet_goes_back_to_an_av_packet(footage: Path) -> None:
    with av.open(str(footage)) as container:
        original = next(container.demux(container.streams.video[0]))
        copied = RingPacket.of(original, T0)
    assert copied is not None

    again = copied.to_packet()

    assert bytes(again) == copied.data
    assert (again.pts, again.dts, again.is_keyframe) == (copied.pts, copied.dts, True)
    assert again.time_base == copied.time_base
