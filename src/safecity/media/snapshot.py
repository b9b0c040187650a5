"""A JPEG of a camera's latest keyframe: decode that one packet with PyAV, encode it with the
MJPEG encoder (full-range 4:2:0, as JPEG/JFIF wants). Blocking CPU work of a few milliseconds:
the async side runs it in a worker thread.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final, cast

import av
from av.video.codeccontext import VideoCodecContext

from safecity.core.errors import DeviceUnavailable
from safecity.media.ring import RingPacket
from safecity.media.tap import StreamInfo

JPEG_RANGE: Final = 2  # AVCOL_RANGE_JPEG: full-range samples
QUALITY: Final = 4  # MJPEG qscale: 2 (best) .. 31


def keyframe_jpeg(stream: StreamInfo, keyframe: RingPacket) -> bytes:
    """The picture of `keyframe` (a packet of `stream`) as JPEG octets."""
    try:
        decoder = cast("VideoCodecContext", av.CodecContext.create(stream.codec, "r"))
        if stream.extradata:
            decoder.extradata = stream.extradata
        frames = [*decoder.decode(keyframe.to_packet()), *decoder.decode(None)]
    except av.FFmpegError as exc:
        raise DeviceUnavailable(f"the latest keyframe could not be decoded: {exc}") from exc
    if not frames:
        raise DeviceUnavailable("the latest keyframe gave no picture")
    frame = frames[0]
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = frame.width, frame.height
    encoder.pix_fmt = "yuv420p"
    encoder.color_range = JPEG_RANGE
    encoder.time_base = Fraction(1, 25)
    encoder.qmin = encoder.qmax = QUALITY
    picture = frame.reformat(format="yuv420p", dst_color_range=JPEG_RANGE)
    picture.pts = 0
    packets = [*encoder.encode(picture), *encoder.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
