"""NAL units from stored samples: ISO/IEC 14496-15 records and length prefixes, and Annex B."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.protocols.rtp import (
    ParameterSets,
    RtpError,
    VideoCodec,
    decoder_config,
    h264_profile_level_id,
    is_random_access,
    parameter_sets,
    parse_avc_config,
    parse_hevc_config,
    split_annex_b,
    split_length_prefixed,
)

# the avcC of tests' footage car-detection.mp4 (H.264 Baseline 768x432), as PyAV reads it
CAR_AVCC = bytes.fromhex(
    "01428016ffe100176742801696540601bd350606064000000300400000066101000468ce3520"
)
VPS = bytes((32 << 1, 1)) + b"vps"
SPS = bytes((33 << 1, 1)) + b"sps"
PPS = bytes((34 << 1, 1)) + b"pps"
SEI = bytes((39 << 1, 1)) + b"sei"


def hvcc(length_size: int, arrays: list[list[bytes]]) -> bytes:
    header = bytearray(23)
    header[0] = 1
    header[21] = 0xFC | (length_size - 1)
    header[22] = len(arrays)
    for units in arrays:
        header += bytes((units[0][0] >> 1 & 0x3F,)) + len(units).to_bytes(2, "big")
        for unit in units:
            header += len(unit).to_bytes(2, "big") + unit
    return bytes(header)


def test_avcc_of_the_footage_gives_its_sps_and_pps() -> None:
    config = parse_avc_config(CAR_AVCC)
    assert config.length_size == 4
    assert [unit[0] & 0x1F for unit in config.nal_units] == [7, 8]
    sets = parameter_sets(VideoCodec.H264, config.nal_units)
    assert h264_profile_level_id(sets.sps[0]) == "428016"
    assert sets.pps == (bytes.fromhex("68ce3520"),)


def test_hvcc_gives_vps_sps_pps_and_the_rest_is_not_a_parameter_set() -> None:
    config = parse_hevc_config(hvcc(4, [[VPS], [SPS], [PPS], [SEI]]))
    assert config.length_size == 4
    assert parameter_sets(VideoCodec.H265, config.nal_units) == ParameterSets(
        sps=(SPS,), pps=(PPS,), vps=(VPS,)
    )


def test_annex_b_extradata_means_annex_b_samples() -> None:
    config = decoder_config(VideoCodec.H264, b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\xce")
    assert config.length_size == 0
    assert config.nal_units == (b"\x67\x42", b"\x68\xce")


@pytest.mark.parametrize(
    "record", [b"", b"\x02" + CAR_AVCC[1:], CAR_AVCC[:-2], CAR_AVCC[:4] + b"\xfe" + CAR_AVCC[5:]]
)
def test_broken_avcc_is_refused(record: bytes) -> None:
    with pytest.raises(RtpError):
        parse_avc_config(record)


def test_annex_b_split_drops_start_codes_and_trailing_zeros() -> None:
    stream = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x65\x88\x00\x00\x00\x00\x01\x41\x9a"
    assert split_annex_b(stream) == [b"\x09\xf0", b"\x65\x88", b"\x41\x9a"]


def test_length_prefix_overrunning_the_sample_is_refused() -> None:
    with pytest.raises(RtpError):
        split_length_prefixed(b"\x00\x00\x00\x05abc")


def test_random_access_is_idr_for_h264_and_irap_for_h265() -> None:
    assert is_random_access(VideoCodec.H264, [b"\x67", b"\x65\x88"])
    assert not is_random_access(VideoCodec.H264, [b"\x41\x9a"])
    assert is_random_access(VideoCodec.H265, [bytes((21 << 1, 1, 0))])  # CRA
    assert not is_random_access(VideoCodec.H265, [bytes((1 << 1, 1, 0))])


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=6), st.sampled_from([1, 2, 4]))
def test_length_prefixed_sample_splits_into_its_units(units: list[bytes], size: int) -> None:
    units = [unit[: (1 << 8 * size) - 1] for unit in units]
    sample = b"".join(len(unit).to_bytes(size, "big") + unit for unit in units)
    assert split_length_prefixed(sample, size) == units
