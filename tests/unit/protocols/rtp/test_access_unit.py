"""Access units from RTP: the packetiser's output comes back unit by unit for any MTU, loss
drops frames until the next keyframe, timestamps unwrap, and no input raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import VideoCodec, packetize, rtp_header
from safecity.protocols.rtp.access_unit import AccessUnit, AccessUnitAssembler, length_prefixed

h264_nal = st.builds(
    lambda header, body: bytes((header,)) + body,
    st.integers(0, 0x7F).filter(lambda h: 1 <= h & 0x1F <= 23),
    st.binary(min_size=1, max_size=2500),
)
h265_nal = st.builds(
    lambda kind, layer, body: bytes((kind << 1, layer)) + body,
    st.integers(0, 47),
    st.integers(1, 7),
    st.binary(min_size=1, max_size=2500),
)
IDR = b"\x65" + bytes(range(40))
SPS = b"\x67\x64\x00\x1f\xac"
PPS = b"\x68\xee\x3c\xb0"
P_FRAME = b"\x41" + bytes(40)


def rtp_packets(
    codec: VideoCodec,
    units: list[list[bytes]],
    *,
    mtu: int = 1400,
    sequence: int = 100,
    timestamp: int = 5000,
    step: int = 3600,
) -> list[bytes]:
    """Each access unit's payloads behind RTP headers, the marker on each unit's last."""
    packets = []
    for index, nal_units in enumerate(units):
        payloads = packetize(codec, nal_units, mtu)
        for number, payload in enumerate(payloads):
            header = rtp_header(
                marker=number == len(payloads) - 1,
                payload_type=96,
                sequence=sequence,
                timestamp=timestamp + index * step,
                ssrc=0x1234,
            )
            packets.append(header + payload)
            sequence += 1
    return packets


def assemble(codec: VideoCodec, packets: list[bytes]) -> list[AccessUnit]:
    assembler = AccessUnitAssembler(codec, 96)
    for packet in packets:
        assembler.feed(memoryview(packet))
    return assembler.take()


@settings(max_examples=60, deadline=None)
@given(
    units=st.lists(st.lists(h264_nal, min_size=1, max_size=4), min_size=1, max_size=5),
    mtu=st.integers(3, 1500),
)
def test_h264_units_come_back_whole_for_any_mtu(units: list[list[bytes]], mtu: int) -> None:
    units[0] = [IDR, *units[0]]  # the first unit given out is a keyframe

    found = assemble(VideoCodec.H264, rtp_packets(VideoCodec.H264, units, mtu=mtu))

    assert [u.nal_units() for u in found] == units
    assert [u.timestamp - found[0].timestamp for u in found] == [
        i * 3600 for i in range(len(units))
    ]
    assert found[0].keyframe


@settings(max_examples=60, deadline=None)
@given(
    units=st.lists(st.lists(h265_nal, min_size=1, max_size=4), min_size=1, max_size=5),
    mtu=st.integers(4, 1500),
)
def test_h265_units_come_back_whole_for_any_mtu(units: list[list[bytes]], mtu: int) -> None:
    units[0] = [b"\x26\x01" + bytes(30), *units[0]]  # IDR_W_RADL (type 19) first

    found = assemble(VideoCodec.H265, rtp_packets(VideoCodec.H265, units, mtu=mtu))

    assert [u.nal_units() for u in found] == units
    assert found[0].keyframe


def test_stap_a_parameter_sets_are_handed_out_with_the_keyframe() -> None:
    stap = b"\x18" + len(SPS).to_bytes(2, "big") + SPS + len(PPS).to_bytes(2, "big") + PPS
    packets = [
        rtp_header(marker=False, payload_type=96, sequence=1, timestamp=0, ssrc=1) + stap,
        rtp_header(marker=True, payload_type=96, sequence=2, timestamp=0, ssrc=1) + IDR,
    ]

    (unit,) = assemble(VideoCodec.H264, packets)

    assert unit.nal_units() == [SPS, PPS, IDR]
    assert unit.parameter_sets == (SPS, PPS)
    assert unit.keyframe
    assert unit.data == length_prefixed([SPS, PPS, IDR])


def test_frames_before_the_first_keyframe_are_dropped() -> None:
    packets = rtp_packets(VideoCodec.H264, [[P_FRAME], [P_FRAME], [IDR], [P_FRAME]])

    found = assemble(VideoCodec.H264, packets)

    assert [u.keyframe for u in found] == [True, False]


def test_a_lost_packet_drops_frames_until_the_next_keyframe() -> None:
    units = [[IDR], [P_FRAME * 40], [P_FRAME], [IDR], [P_FRAME]]
    packets = rtp_packets(VideoCodec.H264, units, mtu=200)
    del packets[3]  # inside the FU-A of the second unit

    assembler = AccessUnitAssembler(VideoCodec.H264, 96)
    for packet in packets:
        assembler.feed(packet)
    found = assembler.take()

    assert [u.timestamp - found[0].timestamp for u in found] == [0, 3 * 3600, 4 * 3600]
    assert [u.after_loss for u in found] == [False, True, False]
    assert assembler.lost == 1
    assert assembler.dropped == 2


def test_a_late_repeated_packet_is_ignored() -> None:
    packets = rtp_packets(VideoCodec.H264, [[IDR], [P_FRAME]])

    found = assemble(VideoCodec.H264, [packets[0], packets[0], packets[1]])

    assert [u.keyframe for u in found] == [True, False]
    assert not found[1].after_loss


def test_a_missing_marker_is_made_up_for_by_the_timestamp_change() -> None:
    first = rtp_header(marker=False, payload_type=96, sequence=1, timestamp=0, ssrc=1) + IDR
    second = rtp_header(marker=False, payload_type=96, sequence=2, timestamp=3600, ssrc=1)

    found = assemble(VideoCodec.H264, [first, second + P_FRAME])

    assert [u.nal_units() for u in found] == [[IDR]]


def test_timestamps_unwrap_past_32_bits() -> None:
    packets = rtp_packets(VideoCodec.H264, [[IDR], [P_FRAME], [P_FRAME]], timestamp=0xFFFFF000)

    found = assemble(VideoCodec.H264, packets)

    assert [u.timestamp for u in found] == [0xFFFFF000, 0xFFFFF000 + 3600, 0xFFFFF000 + 7200]


def test_other_payload_types_are_ignored() -> None:
    packets = rtp_packets(VideoCodec.H264, [[IDR]])
    stray = rtp_header(marker=True, payload_type=0, sequence=7, timestamp=9, ssrc=0x1234) + b"x"

    found = assemble(VideoCodec.H264, [stray, *packets])

    assert len(found) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.sampled_from(list(VideoCodec)))
def test_arbitrary_packets_never_raise(packets: list[bytes], codec: VideoCodec) -> None:
    assembler = AccessUnitAssembler(codec)
    for packet in packets:
        assembler.feed(packet)
    for unit in assembler.take():
        assert unit.nal_units()  # whole NAL units behind consistent lengths
