"""The samples of a movie fragment (ISO/IEC 14496-12:2022 §8.8), read back out of a recorded
file: each sample's decode time, duration, composition offset, size and whether it is a sync
sample, from the fragment's `tfhd` (§8.8.7), `tfdt` (§8.8.12) and `trun`s (§8.8.8) and the
defaults of the track's `trex` (§8.8.3). Both muxers' fragments read the same: FFmpeg's (sizes
per sample, durations and flags from `tfhd` defaults, the first sample's flags apart) and ours
(`fmp4_segment`: everything per sample, signed composition offsets).

Pure: bytes in, values out, boxes walked with `mp4_boxes`; a field that runs past its box, or
samples past the fragment's `mdat`, is a `BoxError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Final

from safecity.media.mp4_boxes import Box, BoxError, boxes, find

NON_SYNC: Final = 0x00010000  # sample_is_non_sync_sample (§8.8.3.1)
# tfhd flags (§8.8.7.1)
BASE_DATA_OFFSET: Final = 0x000001
DESCRIPTION_INDEX: Final = 0x000002
DEFAULT_DURATION: Final = 0x000008
DEFAULT_SIZE: Final = 0x000010
DEFAULT_FLAGS: Final = 0x000020
# trun flags (§8.8.8.1)
DATA_OFFSET: Final = 0x000001
FIRST_SAMPLE_FLAGS: Final = 0x000004
SAMPLE_DURATION: Final = 0x000100
SAMPLE_SIZE: Final = 0x000200
SAMPLE_FLAGS: Final = 0x000400
COMPOSITION_OFFSET: Final = 0x000800


@dataclass(frozen=True, slots=True)
class TrackDefaults:
    """A track's sample defaults (`trex`), which a fragment's `tfhd` may override."""

    duration: int = 0
    size: int = 0
    flags: int = 0


@dataclass(frozen=True, slots=True)
class FragmentSample:
    """One sample of a fragment, times in the track's timescale."""

    decode_time: int
    duration: int
    composition_offset: int  # presentation time - decode time
    size: int
    keyframe: bool

    @property
    def presentation_time(self) -> int:
        return self.decode_time + self.composition_offset


def _u32(data: bytes, at: int, end: int) -> int:
    if at + 4 > end:
        raise BoxError(f"a field at octet {at} runs past its box")
    value: int = struct.unpack_from(">I", data, at)[0]
    return value


def _u64(data: bytes, at: int, end: int) -> int:
    if at + 8 > end:
        raise BoxError(f"a field at octet {at} runs past its box")
    value: int = struct.unpack_from(">Q", data, at)[0]
    return value


def trex_of(init: bytes, track_id: int) -> TrackDefaults:
    """The `trex` defaults of track `track_id` in an init segment (zeros when it has none)."""
    mvex = find(init, ("moov", "mvex"))
    if mvex is not None:
        for entry in boxes(init, mvex.payload, mvex.end):
            if entry.type == "trex" and _u32(init, entry.payload + 4, entry.end) == track_id:
                at = entry.payload + 12  # version/flags, track_ID, description index
                return TrackDefaults(
                    _u32(init, at, entry.end),
                    _u32(init, at + 4, entry.end),
                    _u32(init, at + 8, entry.end),
                )
    return TrackDefaults()


def fragment_samples(
    moof: bytes, track_id: int, defaults: TrackDefaults, decode_time: int, where: tuple[int, int]
) -> list[FragmentSample]:
    """The samples of track `track_id` in `moof` (a whole `moof` box). `decode_time`: where
    the previous fragment ended (a fragment without `tfdt` goes on from there); `where`: the
    file offsets of the moof's first octet and one past its `mdat`, between which the samples
    must lie."""
    position, limit = where
    found: list[FragmentSample] = []
    top = next(boxes(moof), None)
    if top is None or top.type != "moof":
        raise BoxError("not a moof box")
    for traf in boxes(moof, top.payload, top.end):
        tfhd = find(moof, ("tfhd",), traf.payload, traf.end) if traf.type == "traf" else None
        if tfhd is None or _u32(moof, tfhd.payload + 4, tfhd.end) != track_id:
            continue
        base, run_defaults = _track_fragment_header(moof, tfhd, defaults)
        if base is None:
            base = position  # default-base-is-moof, or the first track fragment's moof
        tfdt = find(moof, ("tfdt",), traf.payload, traf.end)
        if tfdt is not None:
            version = _u32(moof, tfdt.payload, tfdt.end) >> 24
            read = _u64 if version == 1 else _u32
            decode_time = read(moof, tfdt.payload + 4, tfdt.end)
        data_end = base
        for trun in boxes(moof, traf.payload, traf.end):
            if trun.type != "trun":
                continue
            offset, samples = _run(moof, trun.payload, trun.end, run_defaults)
            data_start = data_end if offset is None else base + offset
            data_end = data_start + sum(s.size for s in samples)
            if data_start < position or data_end > limit:
                raise BoxError("the samples run past the fragment's mdat")
            for sample in samples:
                found.append(replace(sample, decode_time=decode_time))
                decode_time += sample.duration
    return found


def _track_fragment_header(
    data: bytes, tfhd: Box, defaults: TrackDefaults
) -> tuple[int | None, TrackDefaults]:
    """A `tfhd`'s base data offset (None: not given) and the sample defaults it makes."""
    flags = _u32(data, tfhd.payload, tfhd.end) & 0xFFFFFF
    at = tfhd.payload + 8
    base: int | None = None
    if flags & BASE_DATA_OFFSET:
        base, at = _u64(data, at, tfhd.end), at + 8
    if flags & DESCRIPTION_INDEX:
        at += 4
    duration, size, sample_flags = defaults.duration, defaults.size, defaults.flags
    if flags & DEFAULT_DURATION:
        duration, at = _u32(data, at, tfhd.end), at + 4
    if flags & DEFAULT_SIZE:
        size, at = _u32(data, at, tfhd.end), at + 4
    if flags & DEFAULT_FLAGS:
        sample_flags = _u32(data, at, tfhd.end)
    return base, TrackDefaults(duration, size, sample_flags)


def _run(
    data: bytes, start: int, end: int, defaults: TrackDefaults
) -> tuple[int | None, list[FragmentSample]]:
    """A `trun`'s data offset (None: absent) and samples, their decode times left at 0."""
    head = _u32(data, start, end)
    version, flags = head >> 24, head & 0xFFFFFF
    count = _u32(data, start + 4, end)
    at = start + 8
    offset: int | None = None
    if flags & DATA_OFFSET:
        offset = struct.unpack(">i", struct.pack(">I", _u32(data, at, end)))[0]
        at += 4
    first_flags: int | None = None
    if flags & FIRST_SAMPLE_FLAGS:
        first_flags, at = _u32(data, at, end), at + 4
    fields = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, COMPOSITION_OFFSET]
    present = [bool(flags & f) for f in fields]
    if at + 4 * sum(present) * count > end:
        raise BoxError("the trun's samples run past its box")
    samples: list[FragmentSample] = []
    for index in range(count):
        duration, size = defaults.duration, defaults.size
        sample_flags = first_flags if index == 0 and first_flags is not None else defaults.flags
        composition = 0
        if present[0]:
            duration, at = _u32(data, at, end), at + 4
        if present[1]:
            size, at = _u32(data, at, end), at + 4
        if present[2]:
            sample_flags, at = _u32(data, at, end), at + 4
        if present[3]:
            raw = _u32(data, at, end)
            composition = raw - (1 << 32) if version == 1 and raw >= 1 << 31 else raw
            at += 4
        samples.append(FragmentSample(0, duration, composition, size, not sample_flags & NON_SYNC))
    return offset, samples
