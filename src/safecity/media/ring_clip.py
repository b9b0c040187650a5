"""A camera's ring-buffer packets as one playable fragmented MP4, without transcoding: the
pre-alarm clip, there the moment an alarm comes in (the recorded segment holding those seconds
is indexed only when it closes, up to `segment_s` later).

The muxing is live view's (`fragmenter.LiveFragmenter`): the init segment from the stream's
parameter sets, then one `moof`+`mdat` per frame, timeline from 0 at the first keyframe, frames
after a jump or a step back dropped up to the next keyframe. The ring begins at a keyframe and
holds one connection's packets (it is cleared when the source is lost), so the clip is one
stream and one init segment. Its wall-clock start and end are the arrival times of its first
and last packets; a console falls back to recorded playback for what came before.

Blocking, pure: packets in, bytes out (callers run it off the event loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from safecity.media.fragmenter import InitSegment, LiveFragmenter
from safecity.media.ring import RingPacket
from safecity.media.tap import StreamInfo


@dataclass(frozen=True, slots=True)
class RingClip:
    """A fragmented MP4 (`ftyp`+`moov`, then a `moof`+`mdat` per frame) and what it covers."""

    data: bytes
    codec: str  # the MSE codec string (`avc1.64001f`)
    width: int
    height: int
    frames: int
    start: datetime  # arrival (UTC) of its first frame, a keyframe
    end: datetime  # arrival of its last frame plus that frame's duration

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


def build_clip(
    stream: StreamInfo, packets: Sequence[RingPacket], *, max_jump_s: float = 2.0
) -> RingClip | None:
    """The packets (from a keyframe, in decode order) as one clip; None when none of them can
    be played (no keyframe, or a codec or parameter sets the fragmenter refuses)."""
    fragmenter = LiveFragmenter(max_jump_s=max_jump_s)  # one stream: at most one init segment
    init: InitSegment | None = None
    parts: list[bytes] = []
    first: RingPacket | None = None
    last: RingPacket | None = None
    for packet in packets:
        for item in fragmenter.push(stream, packet, 0.0, live=False):
            if isinstance(item, InitSegment):
                init = item
            else:
                first = first or packet
                last = packet
            parts.append(item.data)
    if init is None or first is None or last is None:
        return None
    tail = float(last.duration * last.time_base) if last.duration > 0 else 0.0
    return RingClip(
        data=b"".join(parts),
        codec=init.codec,
        width=init.width,
        height=init.height,
        frames=len(parts) - 1,
        start=first.at,
        end=last.at + timedelta(seconds=tail),
    )
