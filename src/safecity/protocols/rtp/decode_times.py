"""Decode times for pictures that RTP brings with presentation times only.

An RTP timestamp is the picture's presentation time (RFC 6184 §5.1, RFC 7798 §4.1) and the
pictures come in decode order. Without B-frames the two orders agree and a picture's decode
time is its presentation time. With them MP4 wants decode times that rise with every sample,
each no later than the sample is shown (composition offsets of zero or more) and a frame step
apart, as an encoder's are: a player takes a sample's duration from the step to the next one.
Presentation times stay exactly the camera's.

The times come from the timestamps, not from slice headers (picture order counts). Let
`depth` be how far the camera reorders: the most pictures decoded before one and shown after
it. Then the n-th picture of a connection decodes at the presentation time of the picture
shown `depth` places before it, the (n - depth)-th smallest of the times seen: every picture
shown before that one has come by the n-th (one still to come would have more than `depth`
pictures ahead of it), so the time is known on arrival, with no picture held back; it is no
later than the n-th picture's own (at most `depth` of the n before it are shown after it), and
the steps are the frame steps of the presentation times, a lost picture's included. The first
`depth` pictures decode a frame step apart before the first keyframe is shown.

`from_window` finds `depth` in the first pictures of a connection. A picture shown before one
whose time was given already (the camera reorders more than was seen) cannot be timed so: it
decodes just after the one before, and `depth` grows by one from it on. A step back further
than any reordering goes starts the times again, as it does the presentation times.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Final

MAX_DEPTH: Final = 16  # pictures a decoder holds back at most (H.264 and H.265 DPB sizes)


class DecodeTimes:
    """The decode time of each picture of one connection, in its order of arrival."""

    def __init__(self, depth: int, step: int) -> None:
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"a reorder depth must be 1 to {MAX_DEPTH}, got {depth}")
        if step <= 0:
            raise ValueError(f"a frame step must be positive, got {step}")
        self.depth = depth
        self.step = step
        self._waiting: list[int] = []  # presentation times not yet given as decode times
        self._first: int | None = None  # the first picture's presentation time
        self._count = 0  # pictures timed
        self._last: int | None = None  # the decode time given last

    @classmethod
    def from_window(cls, timestamps: Sequence[int], frame_step: int | None) -> DecodeTimes | None:
        """Decode times for a connection whose first pictures had `timestamps`, or None if
        they were shown in the order they came. `frame_step`: the SDP frame rate's, if any."""
        depth = reorder_depth(timestamps)
        if depth == 0:
            return None
        step = frame_step or smallest_step(sorted(timestamps))
        return cls(min(depth, MAX_DEPTH), step if step > 0 else 1)

    def next(self, timestamp: int) -> int:
        """The decode time of the picture that came next, shown at `timestamp`."""
        waiting = self._waiting
        last = self._last
        if last is not None and timestamp < last - (MAX_DEPTH + 1) * self.step:
            # Further back than any reordering goes: the camera's clock started again. A new
            # run, as its presentation times are (the writer and the ring see the jump).
            waiting.clear()
            self._first, self._count, self._last = None, 0, None
            last = None
        if self._first is None:
            self._first = timestamp
        if last is not None and timestamp < last:
            # Shown before a time already given: a deeper reordering than `depth`.
            heapq.heappush(waiting, timestamp)
            if self.depth < MAX_DEPTH:
                self.depth += 1
                dts = last + 1
            else:
                dts = max(last + 1, heapq.heappop(waiting))
        elif self._count < self.depth:
            heapq.heappush(waiting, timestamp)
            dts = self._first - (self.depth - self._count) * self.step
        else:
            dts = heapq.heappushpop(waiting, timestamp)
            if last is not None and dts <= last:
                dts = last + 1  # two pictures with one time
        self._count += 1
        self._last = dts
        return dts


def reorder_depth(timestamps: Sequence[int]) -> int:
    """The most pictures, of those decoded before one, shown after it."""
    return max(
        (
            sum(1 for before in timestamps[:index] if before > t)
            for index, t in enumerate(timestamps)
        ),
        default=0,
    )


def smallest_step(ordered: Sequence[int]) -> int:
    """The smallest positive step between sorted presentation times; 0 if none."""
    return min((b - a for a, b in itertools.pairwise(ordered) if b > a), default=0)
