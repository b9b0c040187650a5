"""What the segment writer needs of a muxer: a format (the codec, its time base, the usual
frame duration) that opens segment files, and a file that takes samples with times relative to
its own start. Two implementations: `av_segment` (PyAV packets, FFmpeg's muxer) and
`fmp4_segment` (NAL-unit samples, our own boxes).

`add` raises `OSError` when the disk refuses (ENOSPC, EDQUOT, EFBIG: the writer reports low
disk and retries at the next keyframe) and `MuxRefused` for a sample the muxer will not take
(the writer treats it as a corrupt packet); `close` raises either when the file cannot be
finished (it is dropped). A file that lost samples to a refused write but kept whole fragments
before them says so from `close` (`Kept`), and is indexed as far as it is whole.
"""

from __future__ import annotations

import errno
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, TypeAlias

if TYPE_CHECKING:
    from av.packet import Packet
    from av.video.stream import VideoStream

Sample: TypeAlias = "Packet[VideoStream] | bytes"

# The disk refuses more: full, the owner's quota, the file size limit. Each closes the segment
# as far as it is whole, and recording tries again at the next keyframe (`disk_full` gap).
DISK_REFUSALS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class MuxRefused(ValueError):
    """The muxer refused a sample, or could not finish the file."""


class Kept(NamedTuple):
    """What a file holds when a refused write cost it samples: the end of the last one it kept
    (ticks from the segment's first keyframe, as `add` took them) and how many it kept."""

    end: int
    frames: int


class SegmentFile(Protocol):
    def add(self, sample: Sample, pts: int, dts: int, duration: int, keyframe: bool) -> None:
        """One sample; times in the format's time base from the segment's first keyframe."""
        ...

    def close(self, end: int | None) -> Kept | None:
        """Finish the file; `end` is where the last sample ends (None: its own duration).
        None: every sample added is in the file."""
        ...


class SegmentFormat(Protocol):
    codec: str  # "h264" | "hevc"
    time_base: Fraction
    frame_ticks: int  # a frame's duration when a sample does not say

    def open(self, target: Path) -> SegmentFile:
        """A new segment file at `target` (`OSError` if it cannot be created)."""
        ...
