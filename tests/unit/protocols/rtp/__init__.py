"""RTP packets, interleaved framing, H.264/H.265 payload formats and NAL plumbing."""
