def take_packets(
    view: bytes | bytearray | memoryview,
    pos: int,
    channel: int,
    payload_type: int,
    ssrc: int,
    timestamp: int,
    sequence: int,
    fragment_at: int,
    fragment_size: int,
    h265: bool,
    pieces: list[bytes | bytearray | memoryview],
) -> tuple[int, int, int, int, int, bool, bool]: ...
