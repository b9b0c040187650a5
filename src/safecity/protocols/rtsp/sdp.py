"""Session descriptions for RTSP DESCRIBE, SDP as RFC 8866 (§5 line order: v o s [i u e p] c
[b] t [r z] [a]*, then each m= with its own lines) and the video payload formats: H.264 (RFC
6184 §8.1-8.2.1: packetization-mode, profile-level-id, sprop-parameter-sets) and H.265 (RFC
7798 §7.1: sprop-vps, sprop-sps, sprop-pps), each `a=control` as RFC 2326 §C.1.1.

`SessionDescription` keeps every line it reads, in order, so that `parse(bytes(s)) == s`;
`video_session` builds the description of one live H.264 or H.265 camera.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtp.codec import ParameterSets, VideoCodec, h264_profile_level_id
from safecity.protocols.rtsp.errors import RtspError

CLOCK_RATE: Final = 90000  # every video payload format here (RFC 6184 §8.2.1, RFC 7798 §7.2)
TRACK_CONTROL: Final = "trackID=0"

Line = tuple[str, str]  # the type letter and what follows "="


def _check_lines(lines: tuple[Line, ...]) -> None:
    for kind, value in lines:
        if len(kind) != 1 or not kind.isascii() or not kind.isalpha() or kind == "m":
            raise ValueError(f"{kind!r} is not an SDP line type (m= starts a media section)")
        if "\r" in value or "\n" in value:
            raise ValueError("an SDP value is one line")


@dataclass(frozen=True)
class MediaDescription:
    """An m= line (`media` is what follows `m=`) and the lines of its section."""

    media: str
    lines: tuple[Line, ...] = ()

    def __post_init__(self) -> None:
        if "\r" in self.media or "\n" in self.media or not self.media:
            raise ValueError("the m= value is one non-empty line")
        _check_lines(self.lines)

    def attributes(self, name: str) -> list[str]:
        """Values of `a=name:value` (or "" for a flag `a=name`) in this section."""
        return _attributes(self.lines, name)


@dataclass(frozen=True)
class SessionDescription:
    lines: tuple[Line, ...]
    media: tuple[MediaDescription, ...] = ()

    def __post_init__(self) -> None:
        _check_lines(self.lines)

    def attributes(self, name: str) -> list[str]:
        return _attributes(self.lines, name)

    @classmethod
    def parse(cls, data: bytes) -> SessionDescription:
        """Lines ending in CRLF (LF alone is accepted, RFC 8866 §5); `RtspError` if malformed."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RtspError("the session description is not UTF-8") from exc
        session: list[Line] = []
        media: list[tuple[str, list[Line]]] = []
        for raw in text.replace("\r\n", "\n").split("\n"):
            if not raw:
                continue
            kind, equals, value = raw.partition("=")
            if not equals or len(kind) != 1 or not kind.isascii() or not kind.isalpha():
                raise RtspError(f"SDP line {raw[:60]!r} is not x=value")
            if "\r" in value:
                raise RtspError("a bare CR inside an SDP line")
            if kind == "m":
                if not value:
                    raise RtspError("an empty m= line")
                media.append((value, []))
            elif media:
                media[-1][1].append((kind, value))
            else:
                session.append((kind, value))
        if not session or session[0] != ("v", "0"):
            raise RtspError("a session description starts with v=0")
        return cls(tuple(session), tuple(MediaDescription(m, tuple(ls)) for m, ls in media))

    def __bytes__(self) -> bytes:
        out = [f"{kind}={value}" for kind, value in self.lines]
        for section in self.media:
            out.append(f"m={section.media}")
            out += [f"{kind}={value}" for kind, value in section.lines]
        return ("\r\n".join(out) + "\r\n").encode()


def _attributes(lines: tuple[Line, ...], name: str) -> list[str]:
    found = []
    for kind, value in lines:
        if kind != "a":
            continue
        key, _, rest = value.partition(":")
        if key == name:
            found.append(rest)
    return found


def _b64(unit: bytes) -> str:
    return base64.b64encode(unit).decode("ascii")


def format_parameters(codec: VideoCodec, sets: ParameterSets) -> str:
    """The a=fmtp parameters after the payload type."""
    if codec is VideoCodec.H264:
        params = ["packetization-mode=1"]
        if sets.sps:
            params.append(f"profile-level-id={h264_profile_level_id(sets.sps[0])}")
        if sets.sps or sets.pps:
            encoded = ",".join(_b64(unit) for unit in sets.sps + sets.pps)
            params.append(f"sprop-parameter-sets={encoded}")
        return ";".join(params)
    params = []
    for name, units in (("sprop-vps", sets.vps), ("sprop-sps", sets.sps), ("sprop-pps", sets.pps)):
        if units:
            params.append(f"{name}={','.join(_b64(unit) for unit in units)}")
    return ";".join(params)


def parse_format_parameters(text: str) -> dict[str, str]:
    """`name=value;name=value` of an a=fmtp line (after the payload type), names lowercased."""
    params: dict[str, str] = {}
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            params[name.lower()] = value.strip()
    return params


def video_session(
    *,
    codec: VideoCodec,
    payload_type: int,
    parameter_sets: ParameterSets,
    session_id: int,
    address: str = "0.0.0.0",  # noqa: S104 - an SDP origin, not a socket bind
    name: str = "safecity camera",
    framerate: float | None = None,
    size: tuple[int, int] | None = None,
) -> SessionDescription:
    """One live video track, aggregate control `*`, track control `trackID=0` (RFC 2326 C.1.1)."""
    if not 96 <= payload_type <= 127:
        raise ValueError("H.264 and H.265 use a dynamic payload type, 96..127")
    family = "IP6" if ":" in address else "IP4"
    session: list[Line] = [
        ("v", "0"),
        ("o", f"- {session_id} 1 IN {family} {address}"),
        ("s", name),
        ("c", f"IN {family} {'::' if family == 'IP6' else '0.0.0.0'}"),  # noqa: S104
        ("t", "0 0"),
        ("a", "tool:safecity"),
        ("a", "range:npt=0-"),
        ("a", "control:*"),
    ]
    media: list[Line] = [
        ("a", f"rtpmap:{payload_type} {codec.value}/{CLOCK_RATE}"),
    ]
    fmtp = format_parameters(codec, parameter_sets)
    if fmtp:
        media.append(("a", f"fmtp:{payload_type} {fmtp}"))
    if framerate is not None:
        media.append(("a", f"framerate:{framerate:g}"))
    if size is not None:
        media.append(("a", f"x-dimensions:{size[0]},{size[1]}"))
    media.append(("a", f"control:{TRACK_CONTROL}"))
    return SessionDescription(
        tuple(session), (MediaDescription(f"video 0 RTP/AVP {payload_type}", tuple(media)),)
    )
