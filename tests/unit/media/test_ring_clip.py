"""A camera's ring packets as one fragmented MP4: it starts at the keyframe at or before the
asked time, holds every frame from there, runs forward in time, and PyAV plays it."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import av

from safecity.media.mp4_boxes import boxes
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.ring_clip import RingClip, build_clip
from safecity.media.tap import StreamInfo
from tests.unit.media.conftest import T0
from tests.unit.media.live_fixture import footage_packets


def arrived(packets: list[RingPacket]) -> list[RingPacket]:
    """The packets as a camera delivers them: each arrives at T0 plus its decode time."""
    first = packets[0].dts
    return [
        p._replace(at=T0 + timedelta(seconds=float((p.dts - first) * p.time_base))) for p in packets
    ]


def ring_of(packets: list[RingPacket]) -> RingBuffer:
    ring = RingBuffer(3600)
    for packet in packets:
        ring.push(packet)
    return ring


@dataclass
class Played:
    frames: int
    keyframe_first: bool
    decode_times: list[int]  # the demuxed packets' dts, in file order
    presentation_times: list[float]  # the decoded frames' times, seconds from the first
    lumas: list[int]  # each decoded frame's first luma sample, in presentation order
    size: tuple[int, int]


def play(clip: RingClip) -> Played:
    with av.open(io.BytesIO(clip.data), "r") as container:
        stream = container.streams.video[0]
        dts = [p.dts for p in container.demux(stream) if p.size and p.dts is not None]
        container.seek(0)
        frames = list(container.decode(video=0))
    assert frames
    assert frames[0].time is not None
    times = [frame.time - frames[0].time for frame in frames if frame.time is not None]
    lumas = [bytes(frame.planes[0])[0] for frame in frames]
    size = (frames[0].width, frames[0].height)
    return Played(len(frames), frames[0].key_frame, dts, times, lumas, size)


def test_a_clip_since_an_alarm_starts_at_the_keyframe_before_it_and_holds_every_frame(
    footage: Path,
) -> None:
    with footage_packets(footage) as footage_clip:
        stream, packets = footage_clip.stream, arrived(footage_clip.packets)
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    alarm = packets[keys[2]].at + timedelta(seconds=0.3)  # just after the third keyframe

    clip = build_clip(stream, ring_of(packets).since(alarm))

    assert clip is not None
    assert clip.start == packets[keys[2]].at <= alarm < packets[keys[3]].at
    assert clip.frames == len(packets) - keys[2]
    last = packets[-1]
    assert clip.end == last.at + timedelta(seconds=float(last.duration * last.time_base))
    assert clip.codec == "avc1.428016"
    assert [b.type for b in boxes(clip.data)][:3] == ["ftyp", "moov", "moof"]
    played = play(clip)
    assert played.frames == clip.frames
    assert played.keyframe_first
    assert played.size == (768, 432) == (clip.width, clip.height)
    assert all(a < b for a, b in itertools.pairwise(played.decode_times))
    assert all(a < b for a, b in itertools.pairwise(played.presentation_times))
    # the media covers what the arrivals say, to a frame (12.5 fps)
    assert abs(played.presentation_times[-1] + 0.08 - clip.duration_s) < 0.09


def test_a_time_older_than_the_ring_gives_the_whole_ring(footage: Path) -> None:
    with footage_packets(footage) as footage_clip:
        stream, packets = footage_clip.stream, arrived(footage_clip.packets)
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    ring = ring_of(packets[keys[1] :])

    clip = build_clip(stream, ring.since(T0 - timedelta(minutes=5)))

    assert clip is not None
    assert clip.start == packets[keys[1]].at
    assert play(clip).frames == clip.frames == len(packets) - keys[1]


def test_hevc_with_b_frames_plays_in_presentation_order(hevc_clip: Path) -> None:
    with footage_packets(hevc_clip) as footage_clip:
        stream, packets = footage_clip.stream, arrived(footage_clip.packets)
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    assert any(p.pts != p.dts for p in packets)  # the clip does reorder

    clip = build_clip(stream, ring_of(packets).since(packets[keys[1]].at))

    assert clip is not None
    assert clip.codec.startswith(("hev1.", "hvc1."))
    played = play(clip)
    assert played.frames == clip.frames == len(packets) - keys[1]
    assert all(a < b for a, b in itertools.pairwise(played.decode_times))
    assert all(a < b for a, b in itertools.pairwise(played.presentation_times))
    # picture n is flat grey 2n: each is shown at its own time (25 fps), in its order
    shown = [round(time * 25) for time in played.presentation_times]
    painted = [round((luma - played.lumas[0]) / 2) for luma in played.lumas]
    assert shown == painted == list(range(clip.frames))


def test_nothing_playable_gives_no_clip(footage: Path) -> None:
    with footage_packets(footage) as footage_clip:
        stream, packets = footage_clip.stream, footage_clip.packets
    other = StreamInfo("mpeg4", b"", 320, 240, stream.time_base)

    assert build_clip(stream, []) is None
    assert build_clip(stream, [p for p in packets if not p.keyframe][:10]) is None
    assert build_clip(other, packets[:10]) is None
