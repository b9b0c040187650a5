"""Run a platform's recording job until a camera has closed a number of segments."""

from __future__ import annotations

import asyncio

from safecity.app import Platform
from safecity.core.events import SegmentRecorded


async def record_segments(
    platform: Platform, camera_id: int, count: int, *, within_s: float = 60
) -> list[SegmentRecorded]:
    """Start `serve`'s recording job, collect the camera's first `count` segments as the bus
    announces them, then stop the job (TimeoutError after `within_s`)."""
    events = platform.bus.subscribe("media.segment")
    recording = asyncio.ensure_future(platform.background_jobs()["media-recording"]())
    segments: list[SegmentRecorded] = []
    try:
        async with asyncio.timeout(within_s):
            async for delivery in events:
                event = delivery.event
                if isinstance(event, SegmentRecorded) and event.camera_id == camera_id:
                    segments.append(event)
                    if len(segments) == count:
                        break
    finally:
        recording.cancel()
        await asyncio.gather(recording, return_exceptions=True)
        await events.close()
    return segments
