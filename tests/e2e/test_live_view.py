"""The live page in a real Chromium (Debian's, driven by Playwright; Playwright's own browser
download is never used): a simulated camera recorded by the platform shows as playing video,
with B-frames and without.

Prints the time from navigation to the first decoded frame (the page's `liveStats`); asserts
only that a frame arrived. A screenshot goes to the temp directory for a human to look at.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Final

import pytest

from safecity.core.scope import Role
from tests.e2e.chromium import NEEDS_CHROMIUM, chromium_page
from tests.integration.camera_platform import camera_platform

FIRST_FRAME_JS: Final = """() => {
    const stats = window.liveStats;
    const video = document.getElementById("video");
    return stats && stats.firstFrameMs !== null && video.currentTime > 0 && video.videoWidth > 0;
}"""

pytestmark = NEEDS_CHROMIUM


@pytest.mark.parametrize("b_frames", [0, 3], ids=["plain", "b-frames"])
async def test_the_live_page_plays_the_camera_in_chromium(tmp_path: Path, b_frames: int) -> None:
    async with camera_platform(tmp_path, width=640, height=360, b_frames=b_frames) as live:
        token = live.world.tokens[Role.OPERATOR]
        page_url = f"{live.url}/live/{live.camera_id}?token={token}"
        async with chromium_page(tmp_path / "chromium-profile") as page:
            started = time.perf_counter()
            await page.goto(page_url)
            await page.wait_for_function(FIRST_FRAME_JS, timeout=20_000, polling=10)
            waited_ms = (time.perf_counter() - started) * 1000
            stats: dict[str, Any] = await page.evaluate("window.liveStats")
            shown_first = await page.evaluate("document.getElementById('video').currentTime")
            size = await page.evaluate(
                "[document.getElementById('video').videoWidth,"
                " document.getElementById('video').videoHeight]"
            )
            await page.wait_for_timeout(1500)  # let it play on before the screenshot
            shot = Path(tempfile.gettempdir()) / "safecity-live-view.png"
            await page.screenshot(path=str(shot))
            playing: dict[str, Any] = await page.evaluate(
                "({time: document.getElementById('video').currentTime,"
                " status: document.getElementById('status').textContent,"
                " fragments: window.liveStats.fragments})"
            )
    print(  # noqa: T201 (the measured time is this test's report)
        f"\nfirst frame {stats['firstFrameMs']:.0f} ms after navigation "
        f"(first message {stats['firstMessageMs']:.0f} ms; seen by the test after "
        f"{waited_ms:.0f} ms); codec {stats['codec']}; after 1.5 s more: {playing}; "
        f"screenshot {shot}"
    )
    assert stats["errors"] == []
    assert size == [live.width, live.height]
    assert playing["fragments"] > 0
    assert playing["time"] - shown_first > 1.0  # it played on for most of the 1.5 s
