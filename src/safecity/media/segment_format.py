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

import contextlib
import errno
import os
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
_FADVISE: Final = getattr(os, "posix_fadvise", None)


def release_written(fd: int, end: int) -> None:
    """Tell the kernel that the first `end` octets of `fd` will not be read again soon, so that
    it starts writing them out now and frees the pages already on the disk.

    A recorder writes 180 GB an hour at 200 cameras and reads almost none of it back soon:
    left in the page cache, it evicts what is read (the store, the code), and every page it
    takes is a fresh one. Fresh pages are dear on a virtual machine whose host takes back
    free guest memory (virtio-balloon free page reporting): the first write to each costs the
    host's fault, 2.2-3.2 s of system time per GB written here against 0.2-0.8 s into pages
    just freed (docs/PERFORMANCE.md). Pages released a fragment behind are free again within
    a second and are what the next writes get. Dirty pages are only queued for writing, so a
    writer that dies loses nothing the kernel holds. Advice only: a refusal, or a system
    without `posix_fadvise` (macOS), changes nothing."""
    if _FADVISE is not None:
        with contextlib.suppress(OSError):
            _FADVISE(fd, 0, end, os.POSIX_FADV_DONTNEED)


def release_file(path: Path) -> None:
    """`release_written` for a whole file written by someone else (FFmpeg's muxer); a file
    already gone (retention) is left alone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        release_written(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


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
