"""RTP, sans-IO: RFC 3550 packets, RFC 2326 §10.12 interleaved framing, H.264 (RFC 6184) and
H.265 (RFC 7798) payload formats, and the NAL unit plumbing between MP4 samples and RTP."""

from safecity.protocols.rtp.codec import (
    ParameterSets,
    VideoCodec,
    decoder_config,
    h264_profile_level_id,
    is_parameter_set,
    is_random_access,
    nal_type,
    packetize,
    parameter_sets,
)
from safecity.protocols.rtp.errors import RtpError
from safecity.protocols.rtp.h264 import H264Depacketizer
from safecity.protocols.rtp.h265 import H265Depacketizer
from safecity.protocols.rtp.interleaved import InterleavedFrame, interleaved_header
from safecity.protocols.rtp.nal import (
    DecoderConfig,
    parse_avc_config,
    parse_hevc_config,
    split_annex_b,
    split_length_prefixed,
    split_sample,
)
from safecity.protocols.rtp.packet import RtpExtension, RtpPacket, rtp_header

__all__ = [
    "DecoderConfig",
    "H264Depacketizer",
    "H265Depacketizer",
    "InterleavedFrame",
    "ParameterSets",
    "RtpError",
    "RtpExtension",
    "RtpPacket",
    "VideoCodec",
    "decoder_config",
    "h264_profile_level_id",
    "interleaved_header",
    "is_parameter_set",
    "is_random_access",
    "nal_type",
    "packetize",
    "parameter_sets",
    "parse_avc_config",
    "parse_hevc_config",
    "rtp_header",
    "split_annex_b",
    "split_length_prefixed",
    "split_sample",
]
