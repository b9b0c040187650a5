"""Alarm to screen: from the last byte of a DC-09 frame to the WebSocket message at a subscribed
operator, at a steady offered rate.

Run: python benchmarks/alarm_to_screen.py [--rate 1000] [--seconds 10] [--connections 100]

`safecity serve` runs in its own process on a fresh SQLite store seeded with the demo city and
`--connections` plain accounts. This process signs in as the demo's city-wide administrator,
subscribes to `alarms.raised` on `/api/events`, and sends Contact ID panic alarms (E120, which
no confirmation rule holds back) over `--connections` TCP connections at `--rate` in all, each
with a zone number no other alarm in the run has on that account, so every WebSocket message is
matched to its frame. The clock starts when the frame's last byte is handed to the kernel
(`write` then `drain`) and stops when the operator's socket delivers the event: receive, store,
ACK, inbox processing, alarm row, bus, WebSocket, all on one 2-core machine, sender included.
The `ACK` line times the same frames to their ACK at the panel, to tell the receiver's part of
the delay from the processing behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
from websockets.asyncio.client import connect

from local_processes import free_port
from safecity.alarms.account_models import AccountDraft
from safecity.app import open_platform
from safecity.cli_alarms import events_url
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.org.models import OrgUnitKind
from safecity.protocols.dc09 import Dc09Panel, Token
from safecity.settings import load_settings
from safecity.sim.panels import numbered_accounts
from safecity.store.secretbox import SecretBox

ZONES: Final = 999  # Contact ID zones 001-999: one account sends at most this many in a run


async def _seed(store: Path, master_key: str, accounts: list[str]) -> str:
    """Seed the store; the admin's password."""
    settings = load_settings(
        None, store={"url": f"sqlite:///{store}"}, security={"master_key": master_key}
    )
    async with open_platform(settings) as platform:
        logins = await seed_demo_city(platform.services)
        units = await platform.services.units.list(SEED_SCOPE, PageRequest(limit=100))
        station = next(u for u in units.items if u.kind is OrgUnitKind.STATION)
        for account in accounts:
            await platform.services.alarm_accounts.create(
                SEED_SCOPE,
                AccountDraft(account=account, name=f"bench {account}", org_unit_id=station.id),
            )
    return next(login.password for login in logins if login.username == "admin")


async def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"safecity serve exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise SystemExit(f"nothing listens on {port}")


async def _panel(
    account: str,
    port: int,
    interval: float,
    count: int,
    sent_at: dict[tuple[str, int], float],
    start: float,
    acked: list[float],
) -> None:
    loop = asyncio.get_running_loop()
    panel = Dc09Panel(account, key=None, rng=random.Random(account))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sequences: dict[int, float] = {}  # sequence number: when its frame was sent

    async def drain_acks() -> None:
        while data := await reader.read(4096):
            now = time.perf_counter()
            for reply in panel.receive_data(data):
                if reply.token is Token.ACK and (sent := sequences.pop(reply.sequence, None)):
                    acked.append(now - sent)

    acks = asyncio.create_task(drain_acks())
    try:
        for zone in range(1, count + 1):
            due = start + (zone - 1) * interval
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            message, frame = panel.message(Token.ADM_CID, f"1120 01 {zone:03d}", datetime.now(UTC))
            writer.write(frame)
            await writer.drain()
            sent_at[(account, zone)] = sequences[message.sequence] = time.perf_counter()
    finally:
        await asyncio.sleep(1.0)  # let the last ACKs arrive before the connection closes
        writer.close()
        acks.cancel()


async def _measure(
    args: argparse.Namespace, workdir: Path, acked: list[float]
) -> tuple[list[float], int, int]:
    accounts = numbered_accounts(args.connections)
    per_account = min(ZONES, int(args.rate * args.seconds / len(accounts)))
    store = workdir / "arc.db"
    master_key = SecretBox.new_key()
    password = await _seed(store, master_key, accounts)
    dc09_port, api_port = free_port(), free_port()
    config = workdir / "safecity.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{store}\n"
        f"api:\n  host: 127.0.0.1\n  port: {api_port}\n"
        f"receiver:\n  host: 127.0.0.1\n  tcp_port: {dc09_port}\n  udp_port: null\n"
        f"security:\n  master_key: {master_key}\n  login_per_minute: 1000\n"
        f"log:\n  level: error\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "safecity", "serve", "--config", str(config)]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL)  # noqa: ASYNC220 (once, before the clock starts)
    try:
        await _wait_listening(dc09_port, process)
        await _wait_listening(api_port, process)
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base) as client:
            login = await client.post(
                "/api/auth/login", json={"username": "admin", "password": password}
            )
            token = login.json()["token"]
        sent_at: dict[tuple[str, int], float] = {}
        latencies: list[float] = []
        expected = per_account * len(accounts)
        async with connect(events_url(base, "alarms.raised", token), max_queue=None) as ws:

            async def receive() -> None:
                async for raw in ws:
                    arrived = time.perf_counter()
                    event = json.loads(raw)["event"]
                    key = (event["account"], int(event["zone"]))
                    if key in sent_at:
                        latencies.append(arrived - sent_at[key])
                    if len(latencies) >= expected:
                        return

            receiving = asyncio.create_task(receive())
            loop = asyncio.get_running_loop()
            start = loop.time() + 0.5
            interval = len(accounts) / args.rate
            await asyncio.gather(
                *(
                    _panel(
                        a, dc09_port, interval, per_account, sent_at, start + i / args.rate, acked
                    )
                    for i, a in enumerate(accounts)
                )
            )
            try:
                await asyncio.wait_for(receiving, 30)
            except TimeoutError:
                receiving.cancel()
        return latencies, len(sent_at), expected
    finally:
        process.terminate()
        process.wait()


def _ms(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(percent / 100 * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-screen-") as scratch:
        acked: list[float] = []
        latencies, sent, expected = asyncio.run(_measure(args, Path(scratch), acked))
    print(
        f"# alarm to screen, {datetime.now(UTC):%Y-%m-%d}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"# rate={args.rate}/s seconds={args.seconds} connections={args.connections}")
    print(f"{'':>10}{'sent':>7}{'arrived':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values in (("ACK", acked), ("on screen", latencies)):
        if not values:
            print(f"{label:>10}{sent:>7}{0:>9}")
            continue
        print(
            f"{label:>10}{sent:>7}{len(values):>9}{_ms(values, 50):>9.1f}{_ms(values, 90):>9.1f}"
            f"{_ms(values, 99):>9.1f}{max(values) * 1000:>9.1f}"
        )
    if len(latencies) < expected:
        print(f"# {expected - len(latencies)} alarms did not reach the screen within 30 s")


if __name__ == "__main__":
    main()
