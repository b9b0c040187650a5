"""ISO base media file format boxes (ISO/IEC 14496-12:2022), as little as live view needs: walk
the boxes of a buffer, find one by path, build a one-sample media fragment (`moof`+`mdat`), and
read the MSE codec string (RFC 6381) out of an init segment.

Box layout (§4.2): a 32-bit big-endian size (0: to the end of the buffer, 1: a 64-bit size
follows the type), a four-character type, the payload. A full box starts its payload with a
version octet and 24 bits of flags. Everything here is pure: bytes in, bytes or values out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

HEADER_SIZE: Final = 8
LARGE_HEADER_SIZE: Final = 16
VISUAL_SAMPLE_ENTRY_SIZE: Final = 78  # §12.1.3: SampleEntry (8) + VisualSampleEntry (70) fields
STSD_HEADER_SIZE: Final = 8  # version/flags + entry_count

# trun flags (§8.8.8): data offset, per-sample duration, size, flags, composition offset
TRUN_FLAGS: Final = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
TFHD_DEFAULT_BASE_IS_MOOF: Final = 0x020000  # §8.8.7
SYNC_SAMPLE_FLAGS: Final = 0x02000000  # sample_depends_on = 2 (an I picture)
OTHER_SAMPLE_FLAGS: Final = 0x01010000  # depends on others, sample_is_non_sync_sample

INIT_PATH: Final = ("moov", "trak", "mdia")


class BoxError(ValueError):
    """The bytes are not well-formed boxes."""


@dataclass(frozen=True, slots=True)
class Box:
    """One box inside a buffer: its type and where its header and payload lie."""

    type: str
    start: int  # first octet of the header
    payload: int  # first octet of the payload
    end: int  # one past the last octet

    def body(self, data: bytes) -> bytes:
        return data[self.payload : self.end]


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes that lie one after another in `data[start:end]`; `BoxError` for a box whose
    size overruns the range (a box cut short)."""
    stop = len(data) if end is None else end
    pos = start
    while pos < stop:
        if pos + HEADER_SIZE > stop:
            raise BoxError(f"box header cut short at octet {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = HEADER_SIZE
        if size == 1:
            if pos + LARGE_HEADER_SIZE > stop:
                raise BoxError(f"large box header cut short at octet {pos}")
            (size,) = struct.unpack_from(">Q", data, pos + HEADER_SIZE)
            header = LARGE_HEADER_SIZE
        elif size == 0:
            size = stop - pos
        if size < header or pos + size > stop:
            raise BoxError(f"box {kind!r} of {size} octets at {pos} overruns its container")
        yield Box(kind.decode("latin-1"), pos, pos + header, pos + size)
        pos += size


def find(data: bytes, path: tuple[str, ...], start: int = 0, end: int | None = None) -> Box | None:
    """The first box at `path` (types from the outermost down), or None."""
    found: Box | None = None
    for box in boxes(data, start, end):
        if box.type == path[0]:
            found = box
            break
    if found is None or len(path) == 1:
        return found
    return find(data, path[1:], found.payload, found.end)


def split_init(data: bytes) -> tuple[bytes, bytes]:
    """A muxer's output cut after its `moov`: (ftyp + moov, whatever follows)."""
    for box in boxes(data):
        if box.type == "moov":
            return data[: box.end], data[box.end :]
    raise BoxError("no moov box: not an init segment")


def box(kind: str, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I4s", HEADER_SIZE + len(payload), kind.encode("latin-1")) + payload


def full_box(kind: str, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


@dataclass(frozen=True, slots=True)
class Sample:
    """One coded picture of a fragment, times in the track's timescale."""

    data: bytes
    decode_time: int
    duration: int
    composition_offset: int  # pts - dts
    keyframe: bool


def media_fragment(sequence: int, track_id: int, sample: Sample) -> bytes:
    """`moof` + `mdat` carrying one sample (§8.8.4-8.8.8, base data offset at the moof)."""
    flags = SYNC_SAMPLE_FLAGS if sample.keyframe else OTHER_SAMPLE_FLAGS

    def moof(data_offset: int) -> bytes:
        return box(
            "moof",
            full_box("mfhd", 0, 0, struct.pack(">I", sequence)),
            box(
                "traf",
                full_box("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", track_id)),
                full_box("tfdt", 1, 0, struct.pack(">Q", sample.decode_time)),
                full_box(
                    "trun",
                    1,  # version 1: a signed composition offset
                    TRUN_FLAGS,
                    struct.pack(
                        ">IiIIIi",
                        1,
                        data_offset,
                        sample.duration,
                        len(sample.data),
                        flags,
                        sample.composition_offset,
                    ),
                ),
            ),
        )

    size = len(moof(0))
    return moof(size + HEADER_SIZE) + box("mdat", sample.data)


def sequence_number(fragment: bytes) -> int:
    """The `mfhd` sequence number of a media fragment."""
    mfhd = find(fragment, ("moof", "mfhd"))
    if mfhd is None or mfhd.end - mfhd.payload < 8:
        raise BoxError("no mfhd in the fragment")
    value: int = struct.unpack_from(">I", fragment, mfhd.payload + 4)[0]
    return value


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """What the fragments must agree with: the track id, its timescale, its codec string."""

    track_id: int
    timescale: int
    codec: str


def track_info(init: bytes) -> TrackInfo:
    """The first track of an init segment (`ftyp` + `moov`)."""
    tkhd = find(init, ("moov", "trak", "tkhd"))
    mdhd = find(init, (*INIT_PATH, "mdhd"))
    stsd = find(init, (*INIT_PATH, "minf", "stbl", "stsd"))
    if tkhd is None or mdhd is None or stsd is None:
        raise BoxError("the init segment has no track header, media header or sample table")
    # tkhd and mdhd: version 1 has 64-bit times before the id and the timescale.
    v1 = init[tkhd.payload] == 1
    (track_id,) = struct.unpack_from(">I", init, tkhd.payload + (20 if v1 else 12))
    v1 = init[mdhd.payload] == 1
    (timescale,) = struct.unpack_from(">I", init, mdhd.payload + (20 if v1 else 12))
    entry = next(boxes(init, stsd.payload + STSD_HEADER_SIZE, stsd.end), None)
    if entry is None:
        raise BoxError("the sample description is empty")
    children = boxes(init, entry.payload + VISUAL_SAMPLE_ENTRY_SIZE, entry.end)
    config = {child.type: child for child in children}
    return TrackInfo(track_id, timescale, codec_string(entry.type, config, init))


def codec_string(entry: str, config: dict[str, Box], data: bytes) -> str:
    """RFC 6381 `codecs` value for an avc1/avc3 or hvc1/hev1 sample entry."""
    if entry in ("avc1", "avc3") and "avcC" in config:
        record = config["avcC"].body(data)
        if len(record) < 4:
            raise BoxError("avcC cut short")
        return f"{entry}.{record[1]:02x}{record[2]:02x}{record[3]:02x}"
    if entry in ("hvc1", "hev1") and "hvcC" in config:
        return f"{entry}.{hevc_codec_suffix(config['hvcC'].body(data))}"
    raise BoxError(f"no MSE codec string for sample entry {entry!r}")


def hevc_codec_suffix(record: bytes) -> str:
    """ISO/IEC 14496-15 Annex E.3: profile space+idc, reversed compatibility flags, tier+level,
    constraint flags (trailing zero octets dropped), e.g. `1.6.L93.B0`."""
    if len(record) < 13:
        raise BoxError("hvcC cut short")
    space = "" if record[1] >> 6 == 0 else "ABC"[(record[1] >> 6) - 1]
    profile = record[1] & 0x1F
    tier = "H" if record[1] & 0x20 else "L"
    compatibility = int(f"{int.from_bytes(record[2:6], 'big'):032b}"[::-1], 2)
    constraints = bytearray(record[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [f"{space}{profile}", f"{compatibility:x}", f"{tier}{record[12]}"]
    parts += [f"{octet:X}" for octet in constraints]
    return ".".join(parts)
