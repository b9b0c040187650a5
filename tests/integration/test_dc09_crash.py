"""No alarm lost when the receiver dies: 20,000 alarms from 200 panels while `safecity serve` is
killed with SIGKILL three times and restarted. Panels retransmit until ACKed, as real ones do.
At the end every message a panel saw ACKed is in the store exactly once, and every message
sent was eventually stored."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.app import open_platform
from safecity.demo.seed import seed_demo_accounts, seed_demo_city
from safecity.protocols.dc09 import AesKey
from safecity.settings import load_settings
from safecity.sim.panels import PanelFleet, SimConfig, demo_panels
from safecity.store.alarm_tables import AlarmSignalRow
from safecity.store.secretbox import SecretBox

pytestmark = pytest.mark.slow

PANELS = 200
MESSAGES = 20_000
RATE = 800.0  # messages/s over the fleet: the run lasts about 25 s plus the outages
KILLS = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _listening(port: int, process: subprocess.Popen[bytes], within_s: float) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within_s
    while loop.time() < give_up:
        if process.poll() is not None:
            raise AssertionError(f"safecity serve exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise AssertionError(f"the receiver did not listen on {port} within {within_s} s")


async def test_every_acked_alarm_is_stored_exactly_once_across_three_sigkills(
    tmp_path: Path,
) -> None:
    store = tmp_path / "arc.db"
    master_key = SecretBox.new_key()
    settings = load_settings(
        None, store={"url": f"sqlite:///{store}"}, security={"master_key": master_key}
    )
    async with open_platform(settings) as platform:
        await seed_demo_city(platform.services)
        accounts = await seed_demo_accounts(platform.services, count=PANELS)
    port = _free_port()
    config = tmp_path / "safecity.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{store}\n"
        f"api:\n  port: 0\n"
        f"receiver:\n  host: 127.0.0.1\n  tcp_port: {port}\n  udp_port: null\n"
        f"security:\n  master_key: {master_key}\n"
        f"log:\n  level: error\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "safecity", "serve", "--config", str(config)]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL)

    fleet = PanelFleet(
        SimConfig(
            host="127.0.0.1",
            port=port,
            rate=RATE,
            messages=MESSAGES,
            ack_timeout_s=2.0,
            retries=None,  # like a real panel: keep trying until the receiver takes it
            include_polls=False,
            seed=3,
        ),
        demo_panels([(n, AesKey.from_hex(k) if k else None) for n, k in accounts]),
    )
    process = start()
    killed_at: list[int] = []
    try:
        await _listening(port, process, 60)
        run = asyncio.create_task(fleet.run())
        for kill in range(KILLS):
            target = MESSAGES * (kill + 1) // (KILLS + 1)
            # The fleet only counts; polling its counter is the simplest way to kill mid-run.
            while fleet.report.acknowledged < target and not run.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            killed_at.append(fleet.report.acknowledged)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            process = start()
            await _listening(port, process, 60)
        await asyncio.wait_for(run, 300)
    finally:
        process.kill()
        process.wait()

    report = fleet.report
    async with open_platform(settings) as platform:
        # ACKed messages are durable in the inbox spool; the processor copies what the last
        # process left there into alarm_signals with the alarms it makes of them.
        await platform.alarm_processor.process_pending()
        async with platform.db.session() as session:
            rows = (await session.scalars(select(AlarmSignalRow))).all()
    stored = Counter(
        (r.account, r.sequence, r.sent_at.replace(tzinfo=UTC) if r.sent_at else None, r.data)
        for r in rows
    )
    assert len(killed_at) == KILLS
    assert killed_at[-1] < MESSAGES  # the last kill came while panels were still sending
    assert report.sent == MESSAGES
    assert report.acknowledged == MESSAGES
    assert report.unacknowledged == report.refused == 0
    assert report.retransmissions > 0  # the kills did cost some ACKs
    assert [m for m in report.acked if stored[m] != 1] == []
    assert sum(stored.values()) == MESSAGES
    assert set(stored) == set(report.acked)
