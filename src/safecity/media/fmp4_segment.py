"""Segment files written box by box, without a muxer per packet (ISO/IEC 14496-12:2022 §8.8):
the init segment (`ftyp` + `moov`, made once per connection by `mp4_init`), then one `moof` +
`mdat` per batch of samples. A batch ends before a keyframe, or once it spans `fragment_s`,
and goes to the disk in one `writev` of the box headers and the samples as they came, so a
killed writer loses at most the batch in memory and every fragment on disk starts where the
previous ended. Each fragment written releases the file's pages from the page cache
(`release_written`): a recording is not read back soon. A write the disk refuses (full, over
quota, over the file size limit) costs only its batch: the file is cut back to its last whole
fragment, and `close` says what it kept.

Samples are ISO/IEC 14496-15 samples (NAL units behind 4-octet lengths), as the RTP
depacketiser gives them. A sample's duration is the step to the next one's decode time; the
last of a file ends where the writer says (the next segment's first keyframe) or lasts what the
writer gave as its duration. The layout is FFmpeg's for `frag_keyframe+empty_moov+
default_base_moof`: `tfhd` with default-base-is-moof, `tfdt` (version 1), `trun` (version 1,
signed composition offsets) with a duration, size, flags and offset per sample. Decode times
start at 0 or later (`tfdt` is unsigned): when B-frames make the first decode time negative,
all are shifted and the composition offsets take the shift back, so presentation times stay.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Final

from safecity.media.mp4_boxes import OTHER_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, track_info
from safecity.media.segment_format import Kept, MuxRefused, Sample, release_written
from safecity.media.tap import StreamInfo

TRUN_FLAGS: Final = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
TFHD_FLAGS: Final = 0x020000  # default-base-is-moof
MOOF_FIXED: Final = 8 + 16 + 8 + 16 + 20 + 20  # moof, mfhd, traf, tfhd, tfdt, trun before samples
MAX_IOV: Final = 512  # samples per writev (the system allows 1024 buffers)
_HEAD: Final = struct.Struct(">I4sI4sII I4s I4sII I4sIQ I4sIIi")
_MDAT: Final = struct.Struct(">I4s")


class Fmp4SegmentFormat:
    """Segments of one native stream: its codec parameters and init segment."""

    def __init__(self, info: StreamInfo, init: bytes, *, fragment_s: float = 1.0) -> None:
        if info.codec not in ("h264", "hevc"):
            raise ValueError(f"cannot record codec {info.codec!r}")
        self.codec = info.codec
        self.time_base = info.time_base
        rate = info.frame_rate
        self.frame_ticks = max(1, int(1 / (rate * self.time_base))) if rate else 1
        track = track_info(init)
        self.track_id = track.track_id
        self.scale = Fraction(track.timescale) * self.time_base  # track ticks per source tick
        self.fragment_ticks = round(fragment_s / self.time_base)
        self.init = init

    def open(self, target: Path) -> Fmp4SegmentFile:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        segment = Fmp4SegmentFile(self, fd)
        try:
            segment.write_all([self.init])
        except OSError:
            segment.abandon()
            raise
        return segment


class Fmp4SegmentFile:
    def __init__(self, segment_format: Fmp4SegmentFormat, fd: int) -> None:
        self._format = segment_format
        self._fd = fd
        self._sequence = 0
        self._data: list[bytes] = []
        self._times: list[int] = []  # decode times, source ticks
        self._offsets: list[int] = []  # pts - dts
        self._keys: list[bool] = []
        self._last_duration = 0
        self._shift: int | None = None  # added to decode times so that the first is 0 or more
        self._whole = 0  # octets of the init segment and of the whole fragments written
        self._kept_frames = 0
        self._kept_end = 0  # shifted decode time where the last whole fragment ends
        self._lost = False  # a refused write cost a batch

    def add(self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool) -> None:
        if not isinstance(sample, bytes):
            raise MuxRefused("a native segment takes NAL-unit samples")
        if self._shift is None:
            self._shift = max(0, -dts)  # B-frames decode before the keyframe is shown
        dts += self._shift
        if self._times and (keyframe or dts - self._times[0] >= self._format.fragment_ticks):
            self._flush(dts)
        self._data.append(sample)
        self._times.append(dts)
        self._offsets.append(pts - dts)
        self._keys.append(keyframe)
        self._last_duration = duration

    def close(self, end: int | None) -> Kept | None:
        try:
            if self._times:
                last = self._times[-1]
                end = None if end is None else end + (self._shift or 0)
                stop = end if end is not None and end > last else last + self._last_duration
                try:
                    self._flush(stop)
                except OSError:
                    if not self._kept_frames:
                        raise  # nothing whole: the file is dropped
        finally:
            self.abandon()
        if not self._lost:
            return None
        return Kept(self._kept_end - (self._shift or 0), self._kept_frames)

    def abandon(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def write_all(self, parts: list[bytes], size: int | None = None) -> None:
        """Write `parts` (`size` octets in all, if known) with one `writev` per MAX_IOV parts;
        a short write goes on from where it stopped, so a refusal comes as the kernel's own
        `OSError` (ENOSPC, EDQUOT, EFBIG). On any error the file is cut back to what it held
        whole before."""
        total = sum(len(part) for part in parts) if size is None else size
        try:
            if len(parts) <= MAX_IOV:
                self._writev(parts, total)
            else:
                for start in range(0, len(parts), MAX_IOV):
                    chunk = parts[start : start + MAX_IOV]
                    self._writev(chunk, sum(len(part) for part in chunk))
        except OSError:
            self._cut_back()
            raise
        self._whole += total

    def _writev(self, chunk: list[bytes], left: int) -> None:
        written = os.writev(self._fd, chunk)
        rest: Sequence[bytes | memoryview] = chunk
        while written < left:
            if written == 0:
                raise OSError(errno.ENOSPC, "the disk took none of a fragment")
            left -= written
            rest = _after(rest, written)
            written = os.writev(self._fd, rest)

    def _cut_back(self) -> None:
        """Drop what a failed write left of a fragment, and the batch it was writing."""
        self._lost = True
        self._data, self._times, self._offsets, self._keys = [], [], [], []
        os.ftruncate(self._fd, self._whole)
        os.lseek(self._fd, self._whole, os.SEEK_SET)

    def _flush(self, end: int) -> None:
        """Write the batch as one fragment; its last sample lasts until `end`."""
        data, times, offsets, keys = self._data, self._times, self._offsets, self._keys
        count = len(data)
        fmt = self._format
        scale = fmt.scale
        if scale == 1:
            ticks = [*times, end]
            shifts = offsets
        else:
            ticks = [round(t * scale) for t in (*times, end)]
            shifts = [round(o * scale) for o in offsets]
        entries: list[int] = []
        size = 0
        for index in range(count):
            length = len(data[index])
            size += length
            entries += (
                max(0, ticks[index + 1] - ticks[index]),
                length,
                SYNC_SAMPLE_FLAGS if keys[index] else OTHER_SAMPLE_FLAGS,
                shifts[index],
            )
        self._sequence += 1
        moof_size = MOOF_FIXED + 16 * count
        traf_size = moof_size - 8 - 16
        head = _HEAD.pack(
            *(moof_size, b"moof", 16, b"mfhd", 0, self._sequence),
            *(traf_size, b"traf"),
            *(16, b"tfhd", TFHD_FLAGS, fmt.track_id),
            *(20, b"tfdt", 1 << 24, ticks[0]),
            *(20 + 16 * count, b"trun", 1 << 24 | TRUN_FLAGS, count, moof_size + 8),
        )
        samples = struct.pack(">" + "IIIi" * count, *entries)
        parts = [head, samples, _MDAT.pack(8 + size, b"mdat"), *data]
        self.write_all(parts, len(head) + len(samples) + 8 + size)
        release_written(self._fd, self._whole)
        self._kept_frames += count
        self._kept_end = end
        self._data, self._times, self._offsets, self._keys = [], [], [], []


def _after(parts: Sequence[bytes | memoryview], skip: int) -> list[bytes | memoryview]:
    """`parts` without their first `skip` octets."""
    for index, part in enumerate(parts):
        if skip < len(part):
            return [memoryview(part)[skip:], *parts[index + 1 :]]
        skip -= len(part)
    return []
