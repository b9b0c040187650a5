"""Which asyncio event loop the processes run: uvloop where it is installed (not on Windows).

The DC-09 receiver, the RTSP paths and the WebSockets spend much of each message in the event
loop itself; uvloop's is written in C on libuv and costs about half as much per callback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop."""
    try:
        import uvloop  # noqa: PLC0415 (optional: absent on Windows)
    except ImportError:
        return None
    return uvloop.new_event_loop
