"""Durable, ACKed alarms per second from many concurrent panel connections, with ACK latency,
side by side with pysiaalarm's asyncio receiver (which stores nothing) on the same load.

Run: python benchmarks/alarm_intake.py [--panels 1000] [--seconds 20] [--rates max,5000,10000]
     [--generators 2] [--encrypted] [--only safecity|pysiaalarm]

Each receiver runs in its own process: `safecity serve` on a fresh SQLite store (WAL) seeded with
the demo city and `--panels` accounts, its alarm processor turning the inbox into alarms as in
production; pysiaalarm's `SIAClient` (TCP) with the same accounts and a callback that does
nothing. The load comes from `--generators` processes of our panel simulator, the panels split
between them, each panel on its own TCP connection with one message in flight (a real panel's
queue): it sends, waits for the ACK, and sends its next message when its turn comes. `max` lets
every panel send its next message as soon as the last one is ACKed (a closed loop: the
throughput ceiling); a number is an offered rate over the whole fleet. Latency is from the
frame's first write to its ACK, measured by the panel. Only messages of alarm, trouble and
opening/closing traffic (no NULL polls); `--encrypted` gives every account an AES-128 key.

`load us/msg` is the generators' CPU per message sent, what the receivers could not use of the
two cores. `backlog` is how many stored messages the alarm processor had not yet turned into
alarms when the load stopped (the receiver's process runs at a higher priority, so under
overload ACKs come first and processing falls behind), `drain s` how long it then took to catch
up.

`--load-nice N` runs the generators at nice N (both receivers alike): the generators stand for
panels on other machines, whose scheduling delays are not the receiver's. It is no cure on two
cores: at -10 the closed loop starves whichever receiver runs at a lower priority.

Two cores run the receiver and the generators, so figures are lower than on a server: compare
the two receivers in one run rather than reading absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from local_processes import free_port, tree_cpu_s
from safecity.alarms.account_models import AccountDraft
from safecity.app import open_platform
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.event_loop import loop_factory
from safecity.org.models import OrgUnitKind
from safecity.protocols.dc09 import AesKey
from safecity.settings import load_settings
from safecity.sim.panel_load import LoadPlan, build_frames, run_load
from safecity.sim.panels import PanelSpec, SimConfig, numbered_accounts, run_panels
from safecity.store.repositories.spool import processed_up_to, spool_path
from safecity.store.secretbox import SecretBox

TEXT_KEY: Final = "BenchK3yAES128!!"  # 16 ASCII characters: both receivers can take it
MAX_RATE: Final = 1e7  # "max": every panel's interval is far below one ACK round trip
FRAMES_PER_PANEL_S: Final = 30  # pre-built frames per panel and second in a closed loop
SEQUENCE_STRIDE: Final = 3000  # sequence numbers between runs: three runs of up to 3,000 frames

PYSIA_SERVER: Final = textwrap.dedent(
    """
    import asyncio, sys
    from pysiaalarm.account import SIAAccount
    from pysiaalarm.aio.client import SIAClient
    from pysiaalarm.utils.enums import CommunicationsProtocol

    async def ignore(event):
        return None

    async def main(port, count, key):
        accounts = [SIAAccount(f"10{i + 1:04X}", key or None) for i in range(count)]
        client = SIAClient("127.0.0.1", port, accounts, ignore, protocol=CommunicationsProtocol.TCP)
        await client.async_start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
    """
)


@dataclass
class Result:
    receiver: str
    offered: str
    sent: int
    acked: int
    elapsed_s: float
    latencies: list[float]
    backlog: int | None = None  # stored but not yet processed into alarms when the load ended
    drain_s: float | None = None  # then how long until the processor had caught up
    exhausted: int = 0  # panels that ran out of pre-built frames (the figure is then a floor)
    cpu_s: float = 0.0  # the receiver process's CPU while the load ran
    load_cpu_s: float = 0.0  # the load generators' CPU over the same time

    @property
    def load_us_per_message(self) -> float:
        return 1e6 * self.load_cpu_s / self.sent if self.sent else float("nan")

    @property
    def cpu_us_per_ack(self) -> float:
        return 1e6 * self.cpu_s / self.acked if self.acked else float("nan")

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, percent: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(percent / 100 * len(ordered)))] * 1000


def _wait_listening(port: int, process: subprocess.Popen[bytes], within_s: float) -> None:
    give_up = time.monotonic() + within_s
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise SystemExit(f"receiver exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise SystemExit(f"receiver did not listen on {port} within {within_s} s")


async def _seed(store: Path, master_key: str, panels: int, *, encrypted: bool) -> None:
    settings = load_settings(
        None, store={"url": f"sqlite:///{store}"}, security={"master_key": master_key}
    )
    async with open_platform(settings) as platform:
        await seed_demo_city(platform.services)
        units = await platform.services.units.list(SEED_SCOPE, PageRequest(limit=100))
        station = next(u for u in units.items if u.kind is OrgUnitKind.STATION)
        for account in numbered_accounts(panels):
            await platform.services.alarm_accounts.create(
                SEED_SCOPE,
                AccountDraft.model_validate(
                    {
                        "account": account,
                        "name": f"bench {account}",
                        "org_unit_id": station.id,
                        "key_text": TEXT_KEY if encrypted else None,
                    }
                ),
            )


def _start_safecity(
    workdir: Path, panels: int, *, encrypted: bool, profile: Path | None
) -> tuple[subprocess.Popen[bytes], int, Path]:
    store = workdir / "arc.db"
    master_key = SecretBox.new_key()
    asyncio.run(_seed(store, master_key, panels, encrypted=encrypted))
    port = free_port()
    config = workdir / "safecity.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{store}\n"
        f"api:\n  host: 127.0.0.1\n  port: 0\n"
        f"receiver:\n  host: 127.0.0.1\n  tcp_port: {port}\n  udp_port: null\n"
        f"security:\n  master_key: {master_key}\n"
        f"log:\n  level: error\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "safecity", "serve", "--config", str(config)]
    if profile is not None:  # sample the receiver with py-spy (pip install py-spy)
        command = ["py-spy", "record", "--format", "raw", "-o", str(profile), "--", *command]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL)
    _wait_listening(port, process, 60)
    return process, port, store


def _start_pysiaalarm(
    workdir: Path, panels: int, *, encrypted: bool
) -> tuple[subprocess.Popen[bytes], int]:
    script = workdir / "pysia_server.py"
    script.write_text(PYSIA_SERVER, encoding="utf-8")
    port = free_port()
    key = TEXT_KEY if encrypted else ""
    command = [sys.executable, str(script), str(port), str(panels), key]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _wait_listening(port, process, 30)
    return process, port


def _generator(
    port: int,
    accounts: list[str],
    rate: float,
    seconds: float,
    seed: int,
    encrypted: bool,
    load: str,
    nice: int,
    out: Connection,
) -> None:
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except PermissionError:
            print(f"# load generator: cannot take nice {nice} (needs CAP_SYS_NICE)", flush=True)
    key = AesKey.from_text(TEXT_KEY) if encrypted else None
    specs = [PanelSpec(a, key) for a in accounts]
    if load == "sim":
        config = SimConfig(
            host="127.0.0.1",
            port=port,
            rate=rate,
            duration_s=seconds,
            ack_timeout_s=5.0,
            retries=0,
            include_polls=False,
            seed=seed,
        )
        out.send("started")
        began = time.process_time()
        report = asyncio.run(run_panels(config, specs))
        used = time.process_time() - began
        out.send((report.sent, report.acknowledged, report.elapsed_s, report.latencies, 0, used))
        out.close()
        return
    closed = rate >= MAX_RATE
    per_panel = FRAMES_PER_PANEL_S if closed else rate / len(specs)
    count = min(9999, math.ceil(per_panel * seconds) + 5)
    now = datetime.now(UTC)
    # Each run against the same store needs frames it has not stored yet (equal ones would be
    # taken for retransmissions): its own range of sequence numbers.
    first = 1 + (seed // 100 * SEQUENCE_STRIDE) % 9999
    frames = [build_frames(spec, count, now, seed, first) for spec in specs]
    plan = LoadPlan("127.0.0.1", port, seconds, None if closed else rate, ack_timeout_s=5.0)
    load_start = [0.0]

    def started() -> None:
        load_start[0] = time.process_time()
        out.send("started")

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        lean = runner.run(run_load(plan, frames, on_start=started))
    used = time.process_time() - load_start[0]
    out.send((lean.sent, lean.acknowledged, lean.elapsed_s, lean.latencies, lean.exhausted, used))
    out.close()


def _load(
    receiver: str,
    pid: int,
    port: int,
    panels: int,
    offered: str,
    seconds: float,
    generators: int,
    *,
    encrypted: bool,
    load: str,
    nice: int,
    run: int,
) -> Result:
    accounts = numbered_accounts(panels)
    rate = MAX_RATE if offered == "max" else float(offered)
    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for index in range(generators):
        share = accounts[index::generators]
        parent, child = context.Pipe(duplex=False)
        worker = context.Process(
            target=_generator,
            args=(
                port,
                share,
                rate * len(share) / panels,
                seconds,
                run * 100 + index,
                encrypted,
                load,
                nice,
                child,
            ),
        )
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    sent = acked = 0
    elapsed = 0.0
    latencies: list[float] = []
    for parent in pipes:
        if parent.recv() != "started":
            raise SystemExit("a load generator did not start")
    cpu_before = tree_cpu_s(pid)
    exhausted = 0
    load_cpu = 0.0
    for parent in pipes:
        s, a, e, lat, x, used = parent.recv()
        sent, acked, elapsed, exhausted = sent + s, acked + a, max(elapsed, e), exhausted + x
        latencies.extend(lat)
        load_cpu += used
    cpu = tree_cpu_s(pid) - cpu_before
    for worker in workers:
        worker.join()
    return Result(
        receiver,
        offered,
        sent,
        acked,
        elapsed,
        latencies,
        exhausted=exhausted,
        cpu_s=cpu,
        load_cpu_s=load_cpu,
    )


def _stored(store: Path) -> int:
    """Messages durably stored: copied into alarm_signals, or still in the inbox spool."""
    with sqlite3.connect(store) as db:
        (copied,) = db.execute("select count(*) from alarm_signals").fetchone()
    with sqlite3.connect(spool_path(str(store))) as spool:
        (waiting,) = spool.execute(
            "select count(*) from inbox where id > ?", (processed_up_to(str(store)),)
        ).fetchone()
    return int(copied) + int(waiting)


def _backlog(store: Path) -> int:
    """Spooled messages the alarm processor has not reached yet."""
    with sqlite3.connect(spool_path(str(store))) as spool:
        (last,) = spool.execute("select coalesce(max(id), 0) from inbox").fetchone()
    return max(0, int(last) - processed_up_to(str(store)))


def _drain(result: Result, store: Path, within_s: float = 120.0) -> None:
    result.backlog = _backlog(store)
    start = time.monotonic()
    while _backlog(store) > 0 and time.monotonic() - start < within_s:
        time.sleep(0.1)
    result.drain_s = time.monotonic() - start if _backlog(store) == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--panels", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="max,5000,10000")
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--encrypted", action="store_true")
    parser.add_argument(
        "--load",
        choices=["frames", "sim"],
        default="frames",
        help="frames: pre-built frames (sim.panel_load); sim: the full panel simulator",
    )
    parser.add_argument(
        "--load-nice",
        type=int,
        default=0,
        help="nice value of the load generators (0: they share the machine fairly)",
    )
    parser.add_argument("--only", choices=["safecity", "pysiaalarm"])
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of safecity serve")
    args = parser.parse_args()
    rates = args.rates.split(",")
    results: list[Result] = []
    stored_note = ""
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as scratch:
        workdir = Path(scratch)
        if args.only in (None, "safecity"):
            process, port, store = _start_safecity(
                workdir, args.panels, encrypted=args.encrypted, profile=args.profile
            )
            try:
                for run, offered in enumerate(rates):
                    results.append(
                        _load(
                            "safecity",
                            process.pid,
                            port,
                            args.panels,
                            offered,
                            args.seconds,
                            args.generators,
                            encrypted=args.encrypted,
                            load=args.load,
                            nice=args.load_nice,
                            run=run,
                        )
                    )
                    _drain(results[-1], store)
            finally:
                process.send_signal(signal.SIGINT)  # Ctrl-C: py-spy writes its profile
                process.wait()
            acked = sum(r.acked for r in results if r.receiver == "safecity")
            stored_note = f"safecity: {acked} ACKed, {_stored(store)} rows in the store"
        if args.only in (None, "pysiaalarm"):
            process, port = _start_pysiaalarm(workdir, args.panels, encrypted=args.encrypted)
            try:
                for run, offered in enumerate(rates):
                    results.append(
                        _load(
                            "pysiaalarm",
                            process.pid,
                            port,
                            args.panels,
                            offered,
                            args.seconds,
                            args.generators,
                            encrypted=args.encrypted,
                            load=args.load,
                            nice=args.load_nice,
                            run=run,
                        )
                    )
            finally:
                process.terminate()
                process.wait()

    print(
        f"# alarm intake, {datetime.now(UTC):%Y-%m-%d}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"# panels={args.panels} seconds={args.seconds} generators={args.generators} "
        f"encrypted={args.encrypted} load={args.load} load_nice={args.load_nice}"
    )
    print(
        f"{'receiver':<11}{'offered/s':>10}{'sent':>9}{'acked':>9}{'acked/s':>9}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'CPU us/ack':>11}{'load us/msg':>12}{'backlog':>9}"
        f"{'drain s':>9}"
    )
    for r in results:
        backlog = "-" if r.backlog is None else str(r.backlog)
        drain = "-" if r.backlog is None else "> 120" if r.drain_s is None else f"{r.drain_s:.1f}"
        print(
            f"{r.receiver:<11}{r.offered:>10}{r.sent:>9}{r.acked:>9}{r.rate:>9.0f}"
            f"{r.percentile(50):>8.1f}{r.percentile(99):>8.1f}{r.cpu_us_per_ack:>11.1f}"
            f"{r.load_us_per_message:>12.1f}{backlog:>9}{drain:>9}"
        )
    if stored_note:
        print(f"# {stored_note}")
    for r in results:
        if r.exhausted:
            print(f"# {r.receiver} {r.offered}: {r.exhausted} panels ran out of frames")


if __name__ == "__main__":
    main()
