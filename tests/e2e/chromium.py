"""What the browser tests share: Debian's Chromium driven by Playwright (Playwright's own
browser download is never used), a fresh profile per test, and the skips when either is
missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import pytest

CHROMIUM: Final = Path("/usr/bin/chromium")
ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEEDS_CHROMIUM: Final = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]
playwright = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e '.[dev]')"
)


@asynccontextmanager
async def chromium_page(profile: Path) -> AsyncIterator[Any]:
    """A page in a Chromium started with a fresh profile in `profile`, closed after."""
    async with playwright.async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        try:
            yield await context.new_page()
        finally:
            await context.close()
