"""The compiled fast path for a picture's plain packets (`_packets.take_packets`, through
`AccessUnitAssembler.feed_packets`): it takes whole and fragmented NAL units as `feed` does,
up to the marker, and stops at every frame it must not take, and an RTSP client reading
interleaved frames with it assembles exactly what `feed` alone assembles, packet by packet,
whatever the loss, reordering, sources, payload types and read sizes."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.rtp import VideoCodec, packetize, rtp_header
from safecity.protocols.rtp.access_unit import COMPILED, AccessUnit, AccessUnitAssembler
from safecity.protocols.rtsp.client import ClientState, RtspClient

if COMPILED:
    from safecity.protocols.rtp._packets import take_packets

pytestmark = pytest.mark.skipif(
    not COMPILED and os.environ.get("SAFECITY_REQUIRE_COMPILED") != "1",
    reason="safecity.protocols.rtp._packets was not compiled (no C compiler at install)",
)

SSRC = 0x1234
Outcome = tuple[list[AccessUnit], int, int]  # units, lost, dropped
PT = 96


def frame(packet: bytes, channel: int = 0) -> bytes:
    return b"$" + bytes((channel,)) + struct.pack("!H", len(packet)) + packet


def packet(
    payload: bytes,
    sequence: int,
    *,
    timestamp: int = 9000,
    marker: bool = False,
    payload_type: int = PT,
    ssrc: int = SSRC,
) -> bytes:
    header = rtp_header(
        marker=marker, payload_type=payload_type, sequence=sequence, timestamp=timestamp, ssrc=ssrc
    )
    return header + payload


Pieces = list[bytes | bytearray | memoryview]
Taken = tuple[int, int, int, int, int, bool, bool]


def take(
    data: bytes,
    sequence: int,
    *,
    timestamp: int = 9000,
    open_at: int = -1,
    size: int = 0,
    payload_type: int = PT,
    h265: bool = False,
    pieces: Pieces | None = None,
) -> Taken:
    """`take_packets` from the start of `data`, channel 0, source SSRC."""
    out: Pieces = [] if pieces is None else pieces
    return take_packets(
        memoryview(data), 0, 0, payload_type, SSRC, timestamp, sequence, open_at, size, h265, out
    )


def length(size: int) -> bytes:
    return struct.pack("!I", size)


START = b"\x7c\x85" + bytes(range(20))  # FU-A of an IDR picture's NAL unit (NRI 3): its start
MIDDLE = b"\x7c\x05" + bytes(range(30))  # neither start nor end
END = b"\x7c\x45" + bytes(5)
SLICE = b"\x41" + bytes(range(40))  # a non-IDR slice (NRI 2), whole
H265_START = bytes((49 << 1 | 0x80, 1, 0x80 | 19)) + bytes(10)  # FU of IDR_W_RADL, F bit set
H265_MIDDLE = bytes((49 << 1, 1, 19)) + bytes(20)
H265_END = bytes((49 << 1, 1, 0x40 | 19)) + bytes(7)


def test_a_start_and_its_middles_open_a_picture_and_stop_before_another() -> None:
    run = frame(packet(START, 10)) + b"".join(frame(packet(MIDDLE, 11 + n)) for n in range(2))
    stopper = frame(packet(MIDDLE, 13, timestamp=12600))
    pieces: Pieces = [b"\x00\x00\x00\x02", b"\x09\xf0"]  # an access unit delimiter before
    taken = take(run + stopper, 10, timestamp=-1, pieces=pieces)
    assert taken == (len(run), 13, 9000, 2, 1 + 20 + 2 * 30, True, False)
    assert [bytes(p) for p in pieces[2:]] == [b"", b"\x65", START[2:], MIDDLE[2:], MIDDLE[2:]]


def test_a_whole_picture_is_taken_up_to_its_marker() -> None:
    picture = [
        frame(packet(SLICE, 10)),
        frame(packet(START, 11)),
        frame(packet(MIDDLE, 12)),
        frame(packet(END, 13, marker=True)),
    ]
    after = frame(packet(SLICE, 14))  # the next picture, even at the same time
    pieces: Pieces = []
    taken = take(b"".join(picture) + after, 10, timestamp=-1, pieces=pieces)
    assert taken == (len(b"".join(picture)), 14, 9000, -1, 1 + 20 + 30 + 5, True, True)
    assert [bytes(p) for p in pieces] == [
        length(len(SLICE)),
        SLICE,
        length(1 + 20 + 30 + 5),
        b"\x65",
        START[2:],
        MIDDLE[2:],
        END[2:],
    ]


def test_a_start_of_a_non_idr_unit_is_no_keyframe() -> None:
    start = b"\x5c\x81" + bytes(8)  # FU-A (NRI 2) of a non-IDR slice
    pieces: Pieces = []
    taken = take(frame(packet(start, 10)), 10, pieces=pieces)
    assert taken[1:] == (11, 9000, 0, 9, False, False)
    assert bytes(pieces[1]) == b"\x41"


def test_a_whole_idr_slice_is_a_keyframe_and_may_carry_the_marker() -> None:
    idr = b"\x65" + bytes(12)
    pieces: Pieces = []
    taken = take(frame(packet(idr, 10, marker=True)), 10, timestamp=-1, pieces=pieces)
    assert taken[1:] == (11, 9000, -1, len(idr), True, True)
    assert [bytes(p) for p in pieces] == [length(len(idr)), idr]


def test_a_middle_joins_the_open_fragment() -> None:
    pieces: Pieces = [b"", b"\x65"]
    taken = take(frame(packet(MIDDLE, 10)), 10, open_at=0, size=1, pieces=pieces)
    assert taken[1:] == (11, 9000, 0, 31, False, False)
    assert [bytes(p) for p in pieces] == [b"", b"\x65", MIDDLE[2:]]


def test_an_end_sets_the_length_of_its_nal_unit() -> None:
    pieces: Pieces = [b"", b"\x65", MIDDLE[2:]]
    taken = take(frame(packet(END, 10)), 10, open_at=0, size=31, pieces=pieces)
    assert taken[1:] == (11, 9000, -1, 36, False, False)
    assert [bytes(p) for p in pieces] == [length(36), b"\x65", MIDDLE[2:], END[2:]]


def test_start_and_end_at_once_make_one_nal_unit() -> None:
    both = b"\x7c\xc5" + bytes(5)
    pieces: Pieces = []
    taken = take(frame(packet(both, 10, marker=True)), 10, pieces=pieces)
    assert taken[1:] == (11, 9000, -1, 6, True, True)
    assert [bytes(p) for p in pieces] == [length(6), b"\x65", bytes(5)]


@pytest.mark.parametrize(
    "odd",
    [
        frame(packet(MIDDLE, 11), channel=1),  # another channel (RTCP)
        frame(packet(MIDDLE, 12)),  # a sequence gap
        frame(packet(MIDDLE, 11, timestamp=9001)),  # another picture
        frame(packet(START, 11, timestamp=12600)),  # another picture's start
        frame(packet(MIDDLE, 11, ssrc=7)),  # another source
        frame(packet(MIDDLE, 11, payload_type=97)),  # another payload type
        frame(packet(MIDDLE, 11, payload_type=97, marker=True)),  # the same, with the marker
        frame(packet(START, 11)),  # a start while one is open (whose end was lost)
        frame(packet(SLICE, 11)),  # a whole NAL unit while one is open
        frame(packet(b"\x7c\x47" + bytes(5), 11)),  # the end of a fragmented SPS
        frame(packet(b"\x67" + bytes(5), 11)),  # an SPS, whole
        frame(packet(b"\x68" + bytes(5), 11)),  # a PPS, whole
        frame(packet(b"\x78" + bytes(9), 11)),  # an aggregate (STAP-A)
        frame(packet(b"\x60" + bytes(5), 11)),  # NAL unit type 0
        frame(packet(b"\x7d\x05" + bytes(5), 11)),  # FU-B
        frame(packet(b"\x7c\x05", 11)),  # a fragment without data
        frame(b"\xa0" + packet(MIDDLE, 11)[1:] + b"\x01"),  # padding
        frame(b"\x90" + packet(MIDDLE, 11)[1:]),  # an extension
        frame(b"\x81" + packet(MIDDLE, 11)[1:]),  # a CSRC
        frame(packet(MIDDLE, 11))[:-1],  # not all of it has come yet
        b"RTSP/1.0 200 OK\r\n\r\n",  # a response between frames
    ],
)
def test_it_stops_at_any_frame_feed_must_see(odd: bytes) -> None:
    first = frame(packet(MIDDLE, 10))
    pieces: Pieces = [b"", b"\x65"]
    taken = take(first + odd, 10, open_at=0, size=1, pieces=pieces)
    assert taken == (len(first), 11, 9000, 0, 31, False, False)
    assert len(pieces) == 3


@pytest.mark.parametrize(
    "odd",
    [
        packet(MIDDLE, 10),  # a middle whose start was lost
        packet(END, 10),  # an end whose start was lost
        packet(b"\x65", 10),  # a whole NAL unit of fewer than three octets
    ],
)
def test_what_needs_an_open_fragment_or_more_data_is_left_to_feed(odd: bytes) -> None:
    assert take(frame(odd), 10) == (0, 10, 9000, -1, 0, False, False)


def test_a_bad_fragment_index_is_refused() -> None:
    with pytest.raises(ValueError, match="past the 1 pieces"):
        take(frame(packet(MIDDLE, 10)), 10, open_at=1, pieces=[b""])


def test_any_payload_type_is_taken_when_none_was_negotiated() -> None:
    data = frame(packet(MIDDLE, 10, payload_type=33)) + frame(packet(END, 11, marker=True))
    taken = take(data, 10, open_at=0, size=1, payload_type=-1, pieces=[b"", b"\x65"])
    assert taken[:2] == (len(data), 12)
    assert taken[-1]


def test_h265_fragments_are_read_past_their_three_header_octets() -> None:
    data = b"".join(
        (
            frame(packet(H265_START, 0xFFFF)),
            frame(packet(H265_MIDDLE, 0)),
            frame(packet(H265_END, 1, marker=True)),
        )
    )
    pieces: Pieces = []
    taken = take(data, 0xFFFF, timestamp=-1, h265=True, pieces=pieces)
    size = 2 + 10 + 20 + 7
    assert taken == (len(data), 2, 9000, -1, size, True, True)  # the sequence number wrapped
    nal_header = bytes((0x80 | 19 << 1, 1))  # F bit and layer kept, type from the FU header
    assert [bytes(p) for p in pieces] == [
        length(size),
        nal_header,
        H265_START[3:],
        H265_MIDDLE[3:],
        H265_END[3:],
    ]


@pytest.mark.parametrize(
    ("kind", "taken"),
    [(1, True), (19, True), (39, True), (32, False), (33, False), (34, False), (48, False)],
)
def test_h265_takes_whole_nal_units_but_parameter_sets_and_aggregates(
    kind: int, taken: bool
) -> None:
    unit = bytes((kind << 1, 1)) + bytes(6)
    pieces: Pieces = []
    result = take(frame(packet(unit, 10)), 10, h265=True, pieces=pieces)
    assert (result[0] > 0) is taken
    if taken:
        assert [bytes(p) for p in pieces] == [length(len(unit)), unit]
        assert result[5] is (16 <= kind <= 23)


# -- the client with the fast path against `feed` alone ------------------------------------


def nal_of(header: bytes) -> st.SearchStrategy[bytes]:
    """A NAL unit behind `header` of up to 4,000 octets (most need fragmenting)."""
    return st.builds(
        lambda size, fill: header + (fill * size)[:size],
        st.integers(1, 4000),
        st.binary(min_size=1, max_size=3),
    )


nal = st.sampled_from([1, 5, 6, 7, 8]).flatmap(lambda kind: nal_of(bytes((0x60 | kind,))))
h265_nal = st.sampled_from([1, 19, 32, 33, 34, 39]).flatmap(
    lambda kind: nal_of(bytes((kind << 1, 1)))
)
KEYFRAMES = {
    VideoCodec.H264: b"\x65" + bytes(3000),
    VideoCodec.H265: bytes((19 << 1, 1)) + bytes(3000),
}


def stream(codec: VideoCodec, units: list[list[bytes]], mtu: int) -> list[bytes]:
    packets = []
    sequence = 65000
    for index, nal_units in enumerate(units):
        payloads = packetize(codec, nal_units, mtu)
        for number, payload in enumerate(payloads):
            last = number == len(payloads) - 1
            packets.append(packet(payload, sequence & 0xFFFF, timestamp=index * 3600, marker=last))
            sequence += 1
    return packets


def spoil(packets: list[bytes], edits: list[tuple[int, int]]) -> list[bytes]:
    """Lose, repeat, swap, re-source, re-type packets or drop their markers at the edits'
    places."""
    out = list(packets)
    for where, what in edits:
        if not out:
            break
        i = where % len(out)
        if what == 0:
            del out[i]
        elif what == 1:
            out.insert(i, out[i])
        elif what == 2 and i + 1 < len(out):
            out[i], out[i + 1] = out[i + 1], out[i]
        elif what == 3:
            out[i] = out[i][:8] + b"\x00\x00\x00\x07" + out[i][12:]  # another SSRC
        elif what == 4:
            out[i] = out[i][:1] + bytes((out[i][1] & 0x80 | 97,)) + out[i][2:]
        elif what == 5:
            out[i] = out[i][:1] + bytes((out[i][1] & 0x7F,)) + out[i][2:]  # a forgotten marker
    return out


def through_client(codec: VideoCodec, packets: list[bytes], reads: list[int]) -> Outcome:
    client = RtspClient("rtsp://camera/")
    client.state = ClientState.PLAYING
    client.assembler = AccessUnitAssembler(codec, PT)
    client._rtp_channel = 0  # as SETUP would leave it
    wire = b"".join(frame(p) for p in packets)
    units: list[AccessUnit] = []
    buffer = bytearray(1 << 16)
    pos = 0
    for size in [*reads, len(wire)]:  # the same reused buffer, as the pull loop does
        piece = wire[pos : pos + size]
        pos += len(piece)
        buffer[: len(piece)] = piece
        events = client.receive_data(memoryview(buffer)[: len(piece)], 0.0)
        units += [event for event in events if isinstance(event, AccessUnit)]
        buffer[: len(piece)] = bytes(len(piece))  # reused: what was kept must be a copy
        if pos >= len(wire):
            break
    assembler = client.assembler
    return units, assembler.lost, assembler.dropped


def through_feed(codec: VideoCodec, packets: list[bytes]) -> Outcome:
    assembler = AccessUnitAssembler(codec, PT)
    for p in packets:
        assembler.feed(memoryview(p))
    return assembler.take(), assembler.lost, assembler.dropped


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([(VideoCodec.H264, nal), (VideoCodec.H265, h265_nal)]).flatmap(
        lambda pair: st.tuples(
            st.just(pair[0]), st.lists(st.lists(pair[1], min_size=1, max_size=3), max_size=8)
        )
    ),
    st.integers(100, 1400),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 5)), max_size=4),
    st.lists(st.integers(1, 9000), max_size=12),
)
def test_the_client_assembles_what_feed_alone_does(
    codec_units: tuple[VideoCodec, list[list[bytes]]],
    mtu: int,
    edits: list[tuple[int, int]],
    reads: list[int],
) -> None:
    codec, units = codec_units
    units = [[KEYFRAMES[codec]], *units]  # so that there is something to give out
    packets = spoil(stream(codec, units, mtu), edits)
    assembled = through_client(codec, packets, reads)
    assert assembled == through_feed(codec, packets)
    if not edits:
        assert len(assembled[0]) == len(units)
