"""Decode times made from RTP presentation times: rising a frame step at a time, never after a
picture is shown, as an encoder's are; for GOP patterns of any depth, with pictures lost and
with a reordering deeper than the first pictures showed."""

from __future__ import annotations

import itertools
from fractions import Fraction

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtp.decode_times import (
    MAX_DEPTH,
    DecodeTimes,
    reorder_depth,
    smallest_step,
)

STEP = 3600  # 25 fps at 90 kHz


def timed(order: list[int]) -> list[int]:
    return [frame * STEP for frame in order]


def decode_all(times: DecodeTimes, timestamps: list[int]) -> list[int]:
    return [times.next(t) for t in timestamps]


def assert_valid(pts: list[int], dts: list[int]) -> None:
    assert all(a < b for a, b in itertools.pairwise(dts)), dts
    assert all(d <= p for d, p in zip(dts, pts, strict=True)), list(zip(dts, pts, strict=True))


def test_i_p_b_b_decodes_one_step_apart_from_a_step_before_the_keyframe() -> None:
    pts = timed([0, 3, 1, 2, 6, 4, 5, 9, 7, 8])
    times = DecodeTimes.from_window(pts[:5], STEP)
    assert times is not None
    assert times.depth == 1

    dts = decode_all(times, pts)

    assert dts == timed(list(range(-1, 9)))
    assert_valid(pts, dts)


def test_a_b_pyramid_reorders_two_deep() -> None:
    pts = timed([0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11])
    times = DecodeTimes.from_window(pts[:5], None)  # step from the times themselves
    assert times is not None
    assert (times.depth, times.step) == (2, STEP)

    dts = decode_all(times, pts)

    assert dts == timed(list(range(-2, 11)))
    assert_valid(pts, dts)


def test_no_step_back_means_no_decode_times() -> None:
    assert DecodeTimes.from_window(timed([0, 1, 2, 3, 4]), STEP) is None


def test_a_lost_picture_leaves_its_step_out_and_the_rest_right() -> None:
    pts = timed([0, 3, 1, 2, 6, 5, 9, 7, 8])  # the B-frame at 4 lost
    times = DecodeTimes(1, STEP)

    dts = decode_all(times, pts)

    assert_valid(pts, dts)
    assert dts == timed([-1, 0, 1, 2, 3, 5, 6, 7, 8])  # one double step, where 4 is missing


def test_a_lower_frame_rate_than_the_sdp_says_keeps_its_own_steps() -> None:
    pts = [t * 2 for t in timed([0, 3, 1, 2, 6, 4, 5])]  # 12.5 fps, the SDP said 25
    times = DecodeTimes.from_window(pts[:5], STEP)
    assert times is not None

    dts = decode_all(times, pts)

    assert_valid(pts, dts)
    assert [b - a for a, b in itertools.pairwise(dts[1:])] == [2 * STEP] * 5


def test_a_deeper_reordering_than_the_window_showed_deepens_the_times() -> None:
    # I P B B for the first pictures (depth 1), then a pyramid (depth 2).
    pts = timed([0, 3, 1, 2, 7, 5, 4, 6, 11, 9, 8, 10, 15, 13, 12, 14])
    times = DecodeTimes.from_window(pts[:5], STEP)
    assert times is not None
    assert times.depth == 1

    dts = decode_all(times, pts)

    assert times.depth == 2
    assert all(a < b for a, b in itertools.pairwise(dts))
    late = [i for i, (d, p) in enumerate(zip(dts, pts, strict=True)) if d > p]
    assert late == [6]  # only the picture that showed it decodes after it is shown
    assert_valid(pts[7:], dts[7:])


def test_a_clock_that_starts_again_starts_the_decode_times_again() -> None:
    before = timed([0, 3, 1, 2, 6, 4, 5])
    after = [t + 1000 for t in timed([0, 3, 1, 2, 6, 4, 5])]  # 10 s back, and on
    pts = [t + 10 * 90_000 for t in before] + after
    times = DecodeTimes(1, STEP)

    dts = decode_all(times, pts)

    assert_valid(pts[:7], dts[:7])
    assert_valid(pts[7:], dts[7:])
    assert dts[7] == after[0] - STEP  # a step before the new run's first picture
    assert times.depth == 1  # a new run, not a deeper reordering


def test_depth_and_step_are_checked() -> None:
    with pytest.raises(ValueError, match="reorder depth"):
        DecodeTimes(0, STEP)
    with pytest.raises(ValueError, match="reorder depth"):
        DecodeTimes(MAX_DEPTH + 1, STEP)
    with pytest.raises(ValueError, match="frame step"):
        DecodeTimes(1, 0)


def test_the_helpers_measure_what_they_say() -> None:
    assert reorder_depth([0, 4, 2, 1, 3]) == 2
    assert reorder_depth([]) == 0
    assert smallest_step([0, 2, 2, 5]) == 2
    assert smallest_step([7]) == 0


@st.composite
def gop_patterns(draw: st.DrawFn) -> list[int]:
    """Frames in decode order: each anchor, then the B-frames before it (plain or in a
    pyramid: the middle one first), some lost."""
    order: list[int] = [0]
    shown = 0
    for _ in range(draw(st.integers(1, 12))):
        run = draw(st.integers(0, 5))
        anchor = shown + run + 1
        order.append(anchor)
        between = list(range(shown + 1, anchor))
        if draw(st.booleans()) and len(between) > 2:
            middle = between[len(between) // 2]
            between.remove(middle)
            between.insert(0, middle)
        order += between
        shown = anchor
    lost = draw(st.sets(st.integers(1, len(order) - 1), max_size=3))
    return [frame for index, frame in enumerate(order) if index not in lost]


@given(gop_patterns())
def test_decode_times_rise_and_come_no_later_than_shown_for_any_gop(order: list[int]) -> None:
    pts = timed(order)
    depth = max(1, reorder_depth(pts))

    dts = decode_all(DecodeTimes(depth, STEP), pts)

    assert_valid(pts, dts)


def test_times_made_for_x264s_b_pyramid_are_x264s_own() -> None:
    # libx264 with three B-frames and a pyramid, as FFmpeg's muxer times it.
    frames = 60
    pts: list[int] = []
    dts_x264: list[int] = []
    encoder = av.CodecContext.create("libx264", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = 64, 48, "yuv420p"
    encoder.time_base = Fraction(1, 90_000)
    encoder.framerate = Fraction(25)
    encoder.gop_size = 25
    encoder.max_b_frames = 3
    encoder.options = {"x264-params": "bframes=3:b-pyramid=normal:scenecut=0"}
    packets = []
    for index in range(frames):
        frame = av.VideoFrame(64, 48, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([index * 4 % 256]) * plane.buffer_size)
        frame.pts = index * STEP
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    for packet in packets:
        assert packet.pts is not None
        assert packet.dts is not None
        pts.append(packet.pts)
        dts_x264.append(packet.dts)
    times = DecodeTimes.from_window(pts[:5], STEP)
    assert times is not None

    dts = decode_all(times, pts)

    assert len(pts) == frames
    assert_valid(pts, dts)
    assert dts == dts_x264
