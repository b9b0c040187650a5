"""A real safecity server on 127.0.0.1:<free port>, in a background thread, for HTTP-level
tests (schemathesis) that drive it from synchronous code."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from safecity.app import Platform, open_platform, serve
from safecity.demo.seed import DemoLogin, seed_demo_city
from safecity.settings import load_settings
from safecity.store.secretbox import SecretBox


@dataclass
class LiveServer:
    url: str = ""
    logins: list[DemoLogin] = field(default_factory=list)
    platform: Platform | None = None


@contextmanager
def live_server(folder: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{folder / 'live.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        receiver={"host": "127.0.0.1", "tcp_port": 0, "udp_port": 0},
        security={"master_key": SecretBox.new_key(), "login_per_minute": 10_000},
        log={"level": "error"},
    )
    live = LiveServer()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        async with open_platform(settings) as platform:
            live.platform = platform
            live.logins = await seed_demo_city(platform.services)

            def on_ready(url: str) -> None:
                live.url = url
                ready.set()

            server = asyncio.create_task(serve(platform, on_ready=on_ready))
            await stop.wait()
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="safecity-live-server", daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]
    try:
        yield live
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
