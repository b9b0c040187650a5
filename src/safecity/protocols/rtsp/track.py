"""The video track a client pulls, read from a DESCRIBE answer: the first `m=video` section
whose `a=rtpmap` names H264 (RFC 6184 §8.2.1) or H265 (RFC 7798 §7.2), its payload type and
clock rate, the parameter sets of its `a=fmtp` (`sprop-parameter-sets`; `sprop-vps`,
`sprop-sps`, `sprop-pps`), its frame rate, and its control URLs (RFC 2326 §C.1.1: relative to
the Content-Base, `*` meaning the base itself).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from safecity.protocols.rtp.codec import ParameterSets, VideoCodec
from safecity.protocols.rtsp.sdp import (
    CLOCK_RATE,
    MediaDescription,
    SessionDescription,
    parse_format_parameters,
)


@dataclass(frozen=True)
class VideoTrack:
    codec: VideoCodec
    payload_type: int
    clock_rate: int
    parameter_sets: ParameterSets
    control: str  # the URL to SETUP
    aggregate: str | None  # the session's URL for PLAY/TEARDOWN (None: the request URL)
    framerate: float | None = None


def control_url(base: str, control: str) -> str:
    """A control attribute resolved against the base URL, as cameras expect it: absolute as
    is, `*` the base, otherwise appended to the base with one `/` between."""
    if "://" in control:
        return control
    if control in ("", "*"):
        return base
    return base.rstrip("/") + "/" + control.lstrip("/")


def video_track(sdp: SessionDescription, base: str) -> VideoTrack:
    """The first H.264/H.265 video track; `LookupError` naming what there is when none."""
    seen: list[str] = []
    session_control = next(iter(sdp.attributes("control")), None)
    aggregate = None if session_control is None else control_url(base, session_control)
    for media in sdp.media:
        kind, _, rest = media.media.partition(" ")
        if kind != "video":
            continue
        formats = rest.split()[2:]
        for rtpmap in media.attributes("rtpmap"):
            number, _, encoding = rtpmap.partition(" ")
            name, _, clock = encoding.partition("/")
            seen.append(name)
            codec = {"H264": VideoCodec.H264, "H265": VideoCodec.H265}.get(name.upper())
            if codec is None or not number.isdigit() or (formats and number not in formats):
                continue
            rate = clock.split("/")[0]
            control = next(iter(media.attributes("control")), "")
            return VideoTrack(
                codec=codec,
                payload_type=int(number),
                clock_rate=int(rate) if rate.isdigit() else CLOCK_RATE,
                parameter_sets=_parameter_sets(media, number, codec),
                control=control_url(base, control),
                aggregate=aggregate,
                framerate=_framerate(media),
            )
    raise LookupError(f"no H.264 or H.265 video track (found {', '.join(seen) or 'none'})")


def _parameter_sets(media: MediaDescription, number: str, codec: VideoCodec) -> ParameterSets:
    params: dict[str, str] = {}
    for fmtp in media.attributes("fmtp"):
        payload, _, text = fmtp.partition(" ")
        if payload == number:
            params = parse_format_parameters(text)
    if codec is VideoCodec.H264:
        units = _decoded(params.get("sprop-parameter-sets", ""))
        return ParameterSets(
            sps=tuple(u for u in units if u[0] & 0x1F == 7),
            pps=tuple(u for u in units if u[0] & 0x1F == 8),
        )
    return ParameterSets(
        vps=tuple(_decoded(params.get("sprop-vps", ""))),
        sps=tuple(_decoded(params.get("sprop-sps", ""))),
        pps=tuple(_decoded(params.get("sprop-pps", ""))),
    )


def _decoded(text: str) -> list[bytes]:
    units = []
    for part in text.split(","):
        try:
            unit = base64.b64decode(part.strip(), validate=False)
        except (binascii.Error, ValueError):
            continue  # an unreadable set: the stream carries them in band too
        if len(unit) >= 2:
            units.append(unit)
    return units


def _framerate(media: MediaDescription) -> float | None:
    for value in media.attributes("framerate"):
        try:
            rate = float(value.strip())
        except ValueError:
            continue
        if 0 < rate <= 1000:
            return rate
    return None
