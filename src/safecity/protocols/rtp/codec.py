"""The video codecs we carry over RTP, and what differs between them: how a stored sample
becomes NAL units (ISO/IEC 14496-15 or Annex B, see `nal`), which NAL units are parameter sets
(H.264 §7.4.1.2: SPS 7, PPS 8; H.265 Table 7-1: VPS 32, SPS 33, PPS 34) and which payload
format packetises them (RFC 6184, RFC 7798).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from safecity.protocols.rtp import h264, h265
from safecity.protocols.rtp.errors import RtpError
from safecity.protocols.rtp.nal import (
    DecoderConfig,
    is_annex_b,
    parse_avc_config,
    parse_hevc_config,
    split_annex_b,
)


class VideoCodec(StrEnum):
    """The RTP encoding name (RFC 6184 §8.1, RFC 7798 §7.1), as SDP's a=rtpmap writes it."""

    H264 = "H264"
    H265 = "H265"


@dataclass(frozen=True)
class ParameterSets:
    """The parameter sets a decoder needs first; `vps` stays empty for H.264."""

    sps: tuple[bytes, ...] = ()
    pps: tuple[bytes, ...] = ()
    vps: tuple[bytes, ...] = ()

    def units(self) -> tuple[bytes, ...]:
        """In the order a decoder wants them: VPS, SPS, PPS."""
        return self.vps + self.sps + self.pps


def nal_type(codec: VideoCodec, nal: bytes) -> int:
    return h264.nal_type(nal) if codec is VideoCodec.H264 else h265.nal_type(nal)


def decoder_config(codec: VideoCodec, extradata: bytes) -> DecoderConfig:
    """The NAL length size and parameter sets of a stream's extradata; length size 0 means the
    samples are Annex B (extradata empty or itself Annex B)."""
    if not extradata or is_annex_b(extradata):
        return DecoderConfig(0, tuple(split_annex_b(extradata)))
    if codec is VideoCodec.H264:
        return parse_avc_config(extradata)
    return parse_hevc_config(extradata)


def parameter_sets(codec: VideoCodec, nal_units: Iterable[bytes]) -> ParameterSets:
    """The VPS, SPS and PPS among `nal_units`, each kind in order of appearance, no repeats."""
    found: dict[int, list[bytes]] = {}
    for nal in nal_units:
        if not nal:
            continue
        kinds = found.setdefault(nal_type(codec, nal), [])
        if nal not in kinds:
            kinds.append(nal)
    if codec is VideoCodec.H264:
        return ParameterSets(tuple(found.get(h264.SPS, ())), tuple(found.get(h264.PPS, ())))
    return ParameterSets(
        tuple(found.get(h265.SPS, ())),
        tuple(found.get(h265.PPS, ())),
        tuple(found.get(h265.VPS, ())),
    )


def is_parameter_set(codec: VideoCodec, nal: bytes) -> bool:
    kind = nal_type(codec, nal)
    if codec is VideoCodec.H264:
        return kind in (h264.SPS, h264.PPS)
    return kind in (h265.VPS, h265.SPS, h265.PPS)


def is_random_access(codec: VideoCodec, nal_units: Sequence[bytes]) -> bool:
    """Whether the access unit holds an IDR (H.264) or IRAP (H.265) picture."""
    if codec is VideoCodec.H264:
        return any(h264.nal_type(n) == h264.IDR for n in nal_units)
    return any(h265.nal_type(n) in h265.IRAP_TYPES for n in nal_units)


def packetize(codec: VideoCodec, nal_units: Iterable[bytes], max_payload: int) -> list[bytes]:
    """One access unit's RTP payloads; the last carries the marker bit."""
    if codec is VideoCodec.H264:
        return h264.packetize(nal_units, max_payload)
    return h265.packetize(nal_units, max_payload)


def h264_profile_level_id(sps: bytes) -> str:
    """profile_idc, constraint flags and level_idc of an SPS, as RFC 6184 §8.1 writes them."""
    if len(sps) < 4:
        raise RtpError("an H.264 SPS has at least four octets")
    return sps[1:4].hex().upper()
