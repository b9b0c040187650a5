"""Sans-IO protocol codecs and state machines (DC-09, SIP, GB/T 28181, RTP). No I/O here."""
