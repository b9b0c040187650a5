"""RTSP messages, framing, Transport, SDP and the server state machine."""
