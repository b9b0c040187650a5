"""The live fragmenter on the real footage: init first, one fragment per frame, playable."""

from __future__ import annotations

import itertools
from pathlib import Path

from safecity.media.fragmenter import InitSegment, LiveFragmenter, MediaFragment
from safecity.media.mp4_boxes import sequence_number
from tests.unit.media.live_fixture import (
    decode_time,
    decoded_frames,
    footage_packets,
    fragment_all,
    kinds,
)


def test_the_footage_becomes_an_init_segment_then_one_fragment_per_frame(footage: Path) -> None:
    with footage_packets(footage) as clip:
        items = fragment_all(clip)
        frames = len(clip.packets)
    assert isinstance(items[0], InitSegment)
    assert items[0].codec == "avc1.428016"
    assert (items[0].width, items[0].height) == (768, 432)
    fragments = items[1:]
    assert all(isinstance(f, MediaFragment) for f in fragments)
    assert len(fragments) == frames
    assert kinds(items)[:2] == ["init", "key"]
    assert [sequence_number(f.data) for f in fragments] == list(range(1, frames + 1))


def test_init_and_fragments_concatenated_decode_every_frame(footage: Path) -> None:
    with footage_packets(footage) as clip:
        items = fragment_all(clip)
        frames = len(clip.packets)
    assert decoded_frames(items) == frames


def test_joining_mid_gop_waits_for_the_next_keyframe(footage: Path) -> None:
    with footage_packets(footage) as clip:
        second_key = [i for i, p in enumerate(clip.packets) if p.keyframe][1]
        items = fragment_all(clip, clip.packets[second_key - 5 :])
        assert kinds(items)[:2] == ["init", "key"]
        assert len(items) == 1 + len(clip.packets) - second_key


def test_a_restarted_stream_continues_the_timeline_instead_of_going_back(footage: Path) -> None:
    with footage_packets(footage) as clip:
        fragmenter = LiveFragmenter()
        items = []
        for packet in itertools.chain(clip.packets, clip.packets):  # media time steps back
            items += fragmenter.push(clip.stream, packet, 0.0)
        fragments = [i for i in items if isinstance(i, MediaFragment)]
        assert len(fragments) == 2 * len(clip.packets)
        times = [decode_time(f) for f in fragments]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert decoded_frames(items) == 2 * len(clip.packets)


def test_a_jump_in_media_time_drops_frames_until_a_keyframe(footage: Path) -> None:
    with footage_packets(footage) as clip:
        ticks = int(10 / clip.packets[0].time_base)  # 10 s later: beyond max_jump_s
        jumped = [
            p._replace(pts=p.pts + ticks, dts=p.dts + ticks) if i >= 20 else p
            for i, p in enumerate(clip.packets)
        ]
        items = fragment_all(clip, jumped)
        next_key = next(i for i, p in enumerate(clip.packets) if p.keyframe and i >= 20)
        assert len(items) == 1 + 20 + len(clip.packets) - next_key
        fragments = [i for i in items if isinstance(i, MediaFragment)]
        step = decode_time(fragments[20]) - decode_time(fragments[19])
        assert step == decode_time(fragments[19]) - decode_time(fragments[18])  # no hole


def test_hevc_gets_an_hevc_codec_string_and_decodes(hevc_clip: Path) -> None:
    with footage_packets(hevc_clip) as clip:
        items = fragment_all(clip)
        frames = len(clip.packets)
    assert isinstance(items[0], InitSegment)
    assert items[0].codec.startswith(("hev1.1.", "hvc1.1."))  # Main profile
    assert decoded_frames(items) == frames
