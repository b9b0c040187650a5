"""NAL unit boundaries in stored video: ISO/IEC 14496-15:2019 length-prefixed samples (§5.3.2,
§8.3.2) and decoder configuration records (AVC §5.3.3.1, HEVC §8.3.3.1), and ITU-T H.264 /
H.265 Annex B byte streams (start codes 00 00 01 / 00 00 00 01).

MP4 and Matroska store each access unit as NAL units with a 1, 2 or 4-octet big-endian length
before each, and the parameter sets (VPS, SPS, PPS) once, in the codec's extradata (`avcC`,
`hvcC`). An encoder without a global header, or an MPEG-TS source, gives Annex B instead; both
forms are read here. Which NAL unit types are parameter sets is the codec modules' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtp.errors import RtpError

AVC_HEADER_SIZE: Final = 6  # version, profile, compatibility, level, length size, SPS count
HEVC_HEADER_SIZE: Final = 23  # the fixed fields up to and including numOfArrays


@dataclass(frozen=True)
class DecoderConfig:
    """What a configuration record says: the NAL length size and the parameter sets in it."""

    length_size: int
    nal_units: tuple[bytes, ...]


def is_annex_b(data: bytes) -> bool:
    """Whether `data` starts with an Annex B start code rather than a length or record."""
    return data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))


def split_annex_b(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream, start codes and trailing zero octets removed."""
    units: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        start = data.find(b"\x00\x00\x01", begin)
        end = len(data) if start < 0 else start
        unit = data[begin:end].rstrip(b"\x00")
        if unit:
            units.append(unit)
    return units


def split_length_prefixed(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of one length-prefixed sample (§5.3.2); `RtpError` if a length overruns."""
    if length_size not in (1, 2, 4):
        raise ValueError(f"the NAL length size is 1, 2 or 4, not {length_size}")
    units: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + length_size > len(data):
            raise RtpError("a NAL unit length is cut short")
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if size == 0 or pos + size > len(data):
            raise RtpError(f"NAL unit length {size} does not fit the sample")
        units.append(bytes(data[pos : pos + size]))
        pos += size
    return units


def split_sample(data: bytes, length_size: int) -> list[bytes]:
    """NAL units of one sample: Annex B when `length_size` is 0, else length-prefixed."""
    return split_annex_b(data) if length_size == 0 else split_length_prefixed(data, length_size)


def parse_avc_config(data: bytes) -> DecoderConfig:
    """An AVCDecoderConfigurationRecord (`avcC`), §5.3.3.1: its SPS and PPS, in order."""
    if len(data) < AVC_HEADER_SIZE or data[0] != 1:
        raise RtpError("not an AVC decoder configuration record (version 1)")
    length_size = (data[4] & 0x03) + 1
    if length_size == 3:
        raise RtpError("AVC NAL length size 3 is reserved")
    units: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):  # numOfSequenceParameterSets (5 bits), then PPS (8 bits)
        if pos >= len(data):
            raise RtpError("AVC configuration record cut short")
        count = data[pos] & count_mask
        pos += 1
        for _ in range(count):
            unit, pos = _sized(data, pos)
            units.append(unit)
    return DecoderConfig(length_size, tuple(units))


def parse_hevc_config(data: bytes) -> DecoderConfig:
    """An HEVCDecoderConfigurationRecord (`hvcC`), §8.3.3.1: every NAL unit of its arrays."""
    if len(data) < HEVC_HEADER_SIZE or data[0] != 1:
        raise RtpError("not an HEVC decoder configuration record (version 1)")
    length_size = (data[21] & 0x03) + 1
    if length_size == 3:
        raise RtpError("HEVC NAL length size 3 is reserved")
    units: list[bytes] = []
    pos = HEVC_HEADER_SIZE
    for _ in range(data[22]):
        if pos + 3 > len(data):
            raise RtpError("HEVC configuration array cut short")
        count = int.from_bytes(data[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            unit, pos = _sized(data, pos)
            units.append(unit)
    return DecoderConfig(length_size, tuple(units))


def _sized(data: bytes, pos: int) -> tuple[bytes, int]:
    """A 16-bit length and that many octets at `pos`; the unit and the position after it."""
    if pos + 2 > len(data):
        raise RtpError("configuration record cut short before a NAL unit length")
    size = int.from_bytes(data[pos : pos + 2], "big")
    end = pos + 2 + size
    if size == 0 or end > len(data):
        raise RtpError(f"configuration record NAL unit of {size} octets does not fit")
    return bytes(data[pos + 2 : end]), end
