def take_middles(
    view: bytes | bytearray | memoryview,
    pos: int,
    channel: int,
    payload_type: int,
    ssrc: int,
    timestamp: int,
    sequence: int,
    h265: bool,
    pieces: list[bytes | bytearray | memoryview],
) -> tuple[int, int, int]: ...
