"""HLS media playlists over recorded fragmented-MP4 files (RFC 8216, protocol version 7).

Each recorded file becomes one media segment addressed by byte range, so nothing is copied:
`#EXT-X-MAP` names the file's init part (`ftyp` + `moov`) and `#EXT-X-BYTERANGE` its media part
(the `moof` + `mdat` fragments). Every file restarts its timestamps at 0 and carries its own
init part, so every segment after the first follows an `#EXT-X-DISCONTINUITY` (§4.3.2.3); a gap
in the recording needs nothing more, since each segment's `#EXT-X-PROGRAM-DATE-TIME` (§4.3.2.6)
says where it lies in wall-clock time and players seek by it.

A playlist for a range in the past is a finished `VOD` playlist with `#EXT-X-ENDLIST`; one that
reaches the present is an `EVENT` playlist without it, which players reload to find the segments
closed since (§6.3.4). `#EXT-X-START` points players at the requested start inside the first
segment. Pure: data in, text out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

VERSION: Final = 7  # EXT-X-MAP in a playlist without EXT-X-I-FRAMES-ONLY needs 6 or more


class PlaylistType(StrEnum):
    VOD = "VOD"  # finished: nothing is added, EXT-X-ENDLIST closes it
    EVENT = "EVENT"  # still growing at its end: players reload it


@dataclass(frozen=True, slots=True)
class ByteRange:
    """`length` octets from `offset` (RFC 8216 §4.3.2.2: `<n>[@<o>]`)."""

    length: int
    offset: int

    def __str__(self) -> str:
        return f"{self.length}@{self.offset}"


@dataclass(frozen=True, slots=True)
class HlsSegment:
    """One recorded file as a media segment."""

    segment_id: int
    start: datetime  # wall-clock time of its first frame (UTC)
    duration_s: float
    init: ByteRange
    media: ByteRange


SegmentUri = Callable[[int], str]  # segment id -> URI (relative to the playlist, or absolute)


def program_date_time(at: datetime) -> str:
    """ISO 8601 with milliseconds and `Z`, as players parse it."""
    utc = at.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _duration(seconds: float) -> float:
    """Durations are written to the millisecond; the target duration is computed from the
    written value so the two agree (§4.3.3.1)."""
    return round(seconds, 3)


def target_duration(segments: Sequence[HlsSegment]) -> int:
    """The longest segment's duration rounded up to whole seconds (at least 1)."""
    longest = max((_duration(s.duration_s) for s in segments), default=0.0)
    return max(1, math.ceil(longest))


def _quoted(value: str) -> str:
    if '"' in value or "\n" in value or "\r" in value:
        raise ValueError(f"a quoted-string cannot hold {value!r}")
    return f'"{value}"'


def media_playlist(
    segments: Sequence[HlsSegment],
    *,
    playlist_type: PlaylistType,
    uri: SegmentUri,
    start_offset_s: float = 0.0,
) -> str:
    """The playlist text, segments in the order given (start order)."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(segments)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
        f"#EXT-X-PLAYLIST-TYPE:{playlist_type}",
        "#EXT-X-INDEPENDENT-SEGMENTS",  # every file starts with a keyframe
    ]
    if segments and start_offset_s > 0:
        lines.append(f"#EXT-X-START:TIME-OFFSET={_duration(start_offset_s):.3f},PRECISE=YES")
    for number, segment in enumerate(segments):
        location = uri(segment.segment_id)
        if number:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [
            f'#EXT-X-MAP:URI={_quoted(location)},BYTERANGE="{segment.init}"',
            f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(segment.start)}",
            f"#EXTINF:{_duration(segment.duration_s):.3f},",
            f"#EXT-X-BYTERANGE:{segment.media}",
            location,
        ]
    if playlist_type is PlaylistType.VOD:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
