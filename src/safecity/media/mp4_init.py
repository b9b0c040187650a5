"""Init segments (`ftyp` + `moov`) for fragmented MP4, from a stream's parameter sets and its
first keyframe, and the codec parameters that come with them: width, height and the decoder
configuration record (`avcC` / `hvcC`, ISO/IEC 14496-15 §5.3.3, §8.3.3).

FFmpeg's MP4 muxer builds them: the parameter sets and the keyframe, as an Annex B byte stream
in memory, are probed by its raw H.264/H.265 demuxer (which reads the size from the SPS), and
that stream is the template of an MP4 output whose header alone is kept. It costs a few
milliseconds, once per connection, and no decoding of the video itself; it gives exactly the
header FFmpeg writes for the same stream, `hvcC` profile fields and all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

import av

from safecity.media.mp4_boxes import VISUAL_SAMPLE_ENTRY_SIZE, BoxError, boxes, find, split_init

FRAGMENTED_MP4: Final[dict[str, str]] = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
START_CODE: Final = b"\x00\x00\x00\x01"
RAW_FORMATS: Final = {"h264": "h264", "hevc": "hevc"}
PROBE_OPTIONS: Final = {"probesize": "32", "analyzeduration": "0"}
CONFIG_BOXES: Final = frozenset({"avcC", "hvcC"})
STSD_PATH: Final = ("moov", "trak", "mdia", "minf", "stbl", "stsd")


class InitError(ValueError):
    """The parameter sets and keyframe do not make a stream FFmpeg can describe."""


@dataclass(frozen=True, slots=True)
class InitSegment:
    """An init segment and what it says of the stream."""

    data: bytes
    width: int
    height: int
    config: bytes  # the avcC / hvcC record, the stream's MP4 extradata


def build_init(
    codec: str,
    parameter_sets: Sequence[bytes],
    keyframe: Sequence[bytes],
    *,
    time_base: Fraction = Fraction(1, 90_000),
    options: dict[str, str] | None = None,
) -> InitSegment:
    """The init segment of a `codec` ("h264" or "hevc") stream whose parameter sets (VPS, SPS,
    PPS NAL units) and first keyframe's NAL units are given; `InitError` if FFmpeg cannot
    read them."""
    raw_format = RAW_FORMATS.get(codec)
    if raw_format is None:
        raise InitError(f"no MP4 init segment for codec {codec!r}")
    extradata = b"".join(START_CODE + unit for unit in parameter_sets)
    raw = extradata + b"".join(START_CODE + unit for unit in keyframe)
    buffer = io.BytesIO()
    try:
        with av.open(io.BytesIO(raw), format=raw_format, options=PROBE_OPTIONS) as source:
            if not source.streams.video:
                raise InitError("no video stream in the parameter sets and keyframe")
            template = source.streams.video[0]
            width, height = template.codec_context.width, template.codec_context.height
            output = av.open(buffer, "w", format="mp4", options=options or FRAGMENTED_MP4)
            try:
                stream = output.add_stream_from_template(template)
                stream.time_base = time_base
                stream.codec_context.extradata = extradata
                output.start_encoding()
                data, _ = split_init(buffer.getvalue())
            finally:
                output.close()
    except (av.FFmpegError, BoxError, OSError) as exc:
        raise InitError(f"cannot describe the {codec} stream: {exc}") from exc
    if not width or not height:
        raise InitError(f"the {codec} parameter sets give no picture size")
    return InitSegment(data, width, height, decoder_record(data))


def decoder_record(init: bytes) -> bytes:
    """The avcC / hvcC payload of an init segment's first sample entry."""
    stsd = find(init, STSD_PATH)
    if stsd is None:
        raise BoxError("the init segment has no sample description")
    entry = next(boxes(init, stsd.payload + 8, stsd.end), None)
    if entry is None:
        raise BoxError("the sample description is empty")
    for child in boxes(init, entry.payload + VISUAL_SAMPLE_ENTRY_SIZE, entry.end):
        if child.type in CONFIG_BOXES:
            return child.body(init)
    raise BoxError(f"sample entry {entry.type!r} has no avcC or hvcC")
