"""The box walker, the one-sample fragment builder and the MSE codec strings."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import pytest

from safecity.media.fragmenter import LIVE_MOVFLAGS
from safecity.media.mp4_boxes import (
    BoxError,
    Sample,
    box,
    boxes,
    find,
    hevc_codec_suffix,
    media_fragment,
    sequence_number,
    split_init,
    track_info,
)


def test_a_fragment_is_a_moof_then_an_mdat_whose_data_offset_points_at_the_sample() -> None:
    sample = Sample(b"\x00\x00\x00\x03abc", 9000, 3600, 0, keyframe=True)
    data = media_fragment(7, 1, sample)
    assert [b.type for b in boxes(data)] == ["moof", "mdat"]
    assert sequence_number(data) == 7
    trun = find(data, ("moof", "traf", "trun"))
    assert trun is not None
    count, offset = struct.unpack_from(">Ii", data, trun.payload + 4)
    assert count == 1
    assert data[offset : offset + len(sample.data)] == sample.data


def test_a_box_cut_short_is_an_error() -> None:
    data = box("moof", b"x" * 20)
    with pytest.raises(BoxError):
        list(boxes(data[:-1]))
    with pytest.raises(BoxError):
        list(boxes(data[:5]))


def test_a_large_size_box_and_a_to_the_end_box_are_read() -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 3) + b"abc"
    to_end = struct.pack(">I4s", 0, b"free") + b"tail"
    found = list(boxes(large + to_end))
    assert [(b.type, b.end - b.payload) for b in found] == [("mdat", 3), ("free", 4)]


def test_the_init_segment_of_the_footage_names_its_h264_profile_and_level(footage: Path) -> None:
    buffer = io.BytesIO()
    with av.open(str(footage)) as source:
        out = av.open(buffer, "w", format="mp4", options=LIVE_MOVFLAGS)
        out.add_stream_from_template(source.streams.video[0])
        out.start_encoding()
        init, _ = split_init(buffer.getvalue())
        out.close()
    assert [b.type for b in boxes(init)] == ["ftyp", "moov"]
    info = track_info(init)
    assert info.codec == "avc1.428016"  # Baseline (0x42), level 2.2 (0x16)
    assert info.track_id == 1
    assert info.timescale > 0


def test_an_hevc_main_profile_codec_string_follows_annex_e() -> None:
    # general_profile_idc 1, compatibility flags 0x60000000, constraint 0xB0, level 93 (3.1)
    record = bytes([1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93])
    assert hevc_codec_suffix(record) == "1.6.L93.B0"
    high_tier = bytes([1, 0x22, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120])
    assert hevc_codec_suffix(high_tier) == "2.4.H120"


def test_an_init_without_moov_is_refused() -> None:
    with pytest.raises(BoxError):
        split_init(box("ftyp", b"iso5"))
