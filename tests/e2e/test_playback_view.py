"""The playback page in a real Chromium (Debian's, driven by Playwright): a simulated camera
recorded by the platform in 2 s files plays back from its HLS playlist, shows the recorded
time of the picture, plays on over a hole in the recording, and seeks to a chosen time. A
screenshot goes to the temp directory."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from safecity.core.events import SegmentRecorded
from safecity.core.scope import Role
from tests.e2e.chromium import NEEDS_CHROMIUM, chromium_page
from tests.integration.camera_platform import camera_platform

FILES: Final = 4
PLAYING_JS: Final = """() => {
    const stats = window.playbackStats;
    const video = document.getElementById("video");
    return stats && stats.firstFrameMs !== null && stats.shownAt !== null && !video.paused
        && video.videoWidth > 0;
}"""
STATE_JS: Final = """() => {
    const video = document.getElementById("video");
    return {
    ...window.playbackStats,
    time: video.currentTime,
    size: [video.videoWidth, video.videoHeight],
    shown: document.getElementById("at").textContent,
    spans: document.querySelectorAll("#spans > div").length,
    };
}"""

pytestmark = NEEDS_CHROMIUM


async def test_the_playback_page_plays_a_recorded_range_and_seeks_in_chromium(
    tmp_path: Path,
) -> None:
    async with camera_platform(tmp_path, width=640, height=360, media={"segment_s": 2}) as live:
        recorded: list[SegmentRecorded] = []
        events = live.world.platform.bus.subscribe("media.segment")
        try:
            async for delivery in events:
                event = delivery.event
                if isinstance(event, SegmentRecorded) and event.camera_id == live.camera_id:
                    recorded.append(event)
                    if len(recorded) == FILES:
                        break
        finally:
            await events.close()
        with contextlib.closing(sqlite3.connect(tmp_path / "live.db")) as db, db:
            for lost in recorded[1:3]:  # a 4 s hole between the first file and the last
                db.execute("delete from recording_segments where id = ?", (lost.segment_id,))
        start, end = recorded[0].start, recorded[-1].end
        query = urlencode(
            {
                "token": live.world.tokens[Role.OPERATOR],
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
        async with chromium_page(tmp_path / "chromium-profile") as page:
            await page.goto(f"{live.url}/playback/{live.camera_id}?{query}")
            await page.wait_for_function(PLAYING_JS, timeout=20_000, polling=50)
            first: dict[str, Any] = await page.evaluate(STATE_JS)
            # It plays the first file, then jumps the hole and plays the last.
            beyond_ms = (recorded[-1].start.timestamp() + 0.3) * 1000
            await page.wait_for_function(
                f"() => window.playbackStats.shownAt > {beyond_ms}", timeout=10_000, polling=50
            )
            crossed: dict[str, Any] = await page.evaluate(STATE_JS)
            # Seek back into the first file: it plays on from there.
            target = recorded[0].start + (recorded[0].end - recorded[0].start) / 2
            target_ms = target.timestamp() * 1000
            await page.evaluate(f"window.playbackSeek({target_ms})")
            await page.wait_for_function(
                f"() => Math.abs(window.playbackStats.shownAt - {target_ms}) < 1000"
                " && !document.getElementById('video').paused",
                timeout=10_000,
                polling=50,
            )
            await page.wait_for_timeout(700)  # it plays on from the new place
            after: dict[str, Any] = await page.evaluate(STATE_JS)
            shot = Path(tempfile.gettempdir()) / "safecity-playback.png"
            await page.screenshot(path=str(shot))
            # The button pauses it, and the status says so.
            await page.click("#play")
            await page.wait_for_function(
                "() => document.getElementById('video').paused", timeout=5_000, polling=50
            )
            paused = await page.text_content("#status")
    print(f"\nfirst: {first}\nover the hole: {crossed}\nafter seek: {after}\nscreenshot {shot}")  # noqa: T201
    assert first["errors"] == []
    assert first["codec"].startswith("avc1.")
    assert first["size"] == [live.width, live.height]
    assert first["segments"] == FILES - 2  # the playlist lists the files left
    assert first["spans"] == first["segments"]  # and the timeline draws each
    # The picture shown is from the requested start, in recorded time.
    assert abs(first["shownAt"] / 1000 - start.timestamp()) < 2.5
    assert crossed["errors"] == []
    assert crossed["time"] > (recorded[-1].start - start).total_seconds()  # the last file plays
    seeked_to = target.timestamp()
    assert after["errors"] == []
    assert seeked_to < after["shownAt"] / 1000 < seeked_to + 1.5  # played on after the seek
    assert paused == "paused"
