"""The pull loop's reconnect rhythm, on a real closed port: capped exponential backoff, and
bad credentials end it at once."""

from __future__ import annotations

import asyncio
import socket

import pytest

from safecity.adapters.onvif import CameraEvent, OnvifCamera, OnvifEventListener
from safecity.core.backoff import Backoff


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_camera_is_retried_with_capped_exponential_backoff() -> None:
    port = closed_port()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 6:
            raise asyncio.CancelledError

    async def sink(event: CameraEvent) -> None:
        raise AssertionError(event)

    listener = OnvifEventListener(
        lambda: OnvifCamera("127.0.0.1", port, "admin", "pw", timeout_s=1.0),
        sink,
        backoff=Backoff(initial_s=0.5, max_s=4.0),
        sleep=sleep,
    )
    with pytest.raises(asyncio.CancelledError):
        await listener.run()
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert listener.stats.failures == 6
    assert listener.stats.subscriptions == 0
    assert not listener.stats.connected
    assert listener.stats.last_error is not None
    assert f"127.0.0.1:{port}" in listener.stats.last_error
