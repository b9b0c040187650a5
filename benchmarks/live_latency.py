"""Live view latency: N simulated cameras recorded by the platform, M WebSocket viewers of one of
them through the real API server; packet arrival to WebSocket send (server side) and packet
arrival to client receive, p50/p99/max, and the CPU the server and the viewers used.

Run: python benchmarks/live_latency.py [--cameras 4] [--viewers 50] [--seconds 30] [--workers N]

A 1280x720 25 fps test pattern at 2 Mbit/s (keyframe every 2 s) is encoded once with libx264 and
served by `safecity sim cameras` in its own process (its CPU is not counted). The platform runs
in this process (store on SQLite, DC-09 receiver off) and records every camera; the viewers run
in a child process (one asyncio loop, the `websockets` client), so they do not share the
server's loop or GIL; with `--workers N` the cameras are recorded in N ingest worker
processes (`media.ingest_workers`) and the watched camera's packets forwarded to this one, and
the server's CPU includes theirs. "Arrival" is when the recorder's demuxer hands over the packet
(`time.monotonic()`, CLOCK_MONOTONIC on Linux, so comparable across processes); the
server side is read from `LiveService.stats` (stamped as each send returns), the client side
matches each received fragment's `mfhd` sequence number with the arrival the server traced for
it. Fragments a viewer got replayed from the GOP cache when it joined are not counted. CPU is
measured twice over `--seconds`: recording only, then recording with the viewers watching.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Final

from local_processes import cpu_s, free_port, wait_port
from safecity.app import Platform, open_platform, serve
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.media.fragmenter import MediaFragment
from safecity.media.mp4_boxes import sequence_number
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.process_setup import configure_logging
from safecity.settings import load_settings
from safecity.sim.camera_source import encode_test_pattern
from safecity.store.secretbox import SecretBox

BIT_RATE: Final = 2_000_000
WARM_UP_S: Final = 3.0  # viewers joined and past their GOP replay before the clock starts

Receipts = list[list[tuple[int, float]]]  # per viewer: (sequence number, monotonic)


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max in milliseconds (nearest rank)."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return rank(0.5), rank(0.99), ordered[-1] * 1000


# -- the viewers (child process) ------------------------------------------------------------


def _viewers_main(
    url: str, count: int, seconds: float, joined: ProcessEvent, out: multiprocessing.Queue[str]
) -> None:
    receipts = asyncio.run(_watch(url, count, seconds, joined))
    out.put(json.dumps(receipts))


async def _watch(url: str, count: int, seconds: float, joined: ProcessEvent) -> Receipts:
    from websockets.asyncio.client import connect  # noqa: PLC0415 (child process only)

    receipts: Receipts = [[] for _ in range(count)]
    connected = 0
    done = asyncio.Event()

    async def viewer(index: int) -> None:
        nonlocal connected
        async with connect(url, max_size=None) as socket_:
            json.loads(await socket_.recv())  # the codec header
            await socket_.recv()  # the init segment
            connected += 1
            if connected == count:
                joined.set()
            mine = receipts[index]
            while not done.is_set():
                message = await socket_.recv()
                now = time.monotonic()
                if isinstance(message, bytes):
                    mine.append((sequence_number(message), now))

    tasks = [asyncio.create_task(viewer(i)) for i in range(count)]
    await asyncio.sleep(seconds)
    done.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return receipts


# -- the platform (this process) --------------------------------------------------------------


async def _seed(live: Platform, urls: list[str]) -> tuple[int, str]:
    """Replace the demo city's devices with the benchmark cameras; (first camera, token)."""
    logins = await seed_demo_city(live.services)
    page = PageRequest(limit=10_000)
    for device in (await live.services.devices.list(SEED_SCOPE, page)).items:
        await live.services.devices.delete(SEED_SCOPE, device.id)
    points = (await live.services.points.list(SEED_SCOPE, page)).items
    ids = []
    for index, url in enumerate(urls):
        draft = DeviceDraft(
            point_id=points[index % len(points)].id,
            kind=DeviceKind.CAMERA,
            name=f"bench camera {index + 1}",
            stream_url=url,
        )
        ids.append((await live.services.devices.create(SEED_SCOPE, draft)).id)
    admin = next(login for login in logins if login.username == "admin")
    issued = await live.services.signin.sign_in(admin.username, admin.password, "127.0.0.1")
    return ids[0], issued.token


async def _until_recording(live: Platform, camera_id: int, within_s: float = 60) -> None:
    assert live.recording is not None
    for _ in range(int(within_s / 0.2)):
        if await live.recording.current_gop(camera_id) is not None:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"camera {camera_id} sent no video within {within_s:g} s")


def _server_cpu(live: Platform) -> float:
    """CPU seconds of this process and of the ingest workers (not of the viewers' process or
    the camera simulator, which are children of this one too)."""
    workers = live.recording.workers if live.recording is not None else None
    pids = [] if workers is None else [pid for pid in workers.pids.values() if pid is not None]
    return cpu_s(os.getpid()) + sum(cpu_s(pid) for pid in pids)


@dataclass
class _Run:
    fragments: int = 0
    server_side: list[float] = field(default_factory=list)
    client_side: list[float] = field(default_factory=list)
    skips: int = 0
    recording_only_cpu: float = 0.0
    watching_cpu: float = 0.0
    viewers_cpu: float = 0.0
    elapsed: float = 0.0


async def _run(args: argparse.Namespace, work: Path, urls: list[str]) -> _Run:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{work / 'live.db'}"},
        api={"host": "127.0.0.1", "port": 0},
        receiver={"enabled": False},
        media={
            "root": str(work / "recordings"),
            "segment_s": 10,
            "min_free_bytes": 0,
            "ingest_workers": args.workers,
        },
        security={"master_key": SecretBox.new_key(), "login_per_minute": 10_000},
        log={"level": "error"},
    )
    configure_logging(settings.log)
    async with open_platform(settings) as live:
        camera_id, token = await _seed(live, urls)
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(live, on_ready=ready.set_result))
        try:
            base = await asyncio.wait_for(ready, 30)
            await _until_recording(live, camera_id)
            await asyncio.sleep(WARM_UP_S)
            result = _Run()
            before = _server_cpu(live)
            await asyncio.sleep(args.seconds)
            result.recording_only_cpu = _server_cpu(live) - before
            url = f"{base.replace('http', 'ws', 1)}/api/cameras/{camera_id}/live?token={token}"
            await _watched(args, live, camera_id, url, result)
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
    return result


async def _watched(
    args: argparse.Namespace, live: Platform, camera_id: int, url: str, result: _Run
) -> None:
    """The viewers' phase: start them, wait until all joined and warmed up, measure."""
    service = live.services.live
    arrivals: dict[int, float] = {}

    def trace(camera: int, fragment: MediaFragment) -> None:
        if camera == camera_id:
            arrivals[fragment.sequence] = fragment.arrived

    service.trace = trace
    context = multiprocessing.get_context("spawn")
    joined = context.Event()
    out: multiprocessing.Queue[str] = context.Queue()
    watch_s = WARM_UP_S + args.seconds + 5
    child = context.Process(target=_viewers_main, args=(url, args.viewers, watch_s, joined, out))
    child.start()
    if not await asyncio.to_thread(joined.wait, 60):
        raise SystemExit("the viewers did not all connect")
    await asyncio.sleep(WARM_UP_S)
    service.stats.reset()
    first = max(arrivals, default=0) + 1
    them = child.pid or 0
    before, child_before, started = _server_cpu(live), cpu_s(them), time.perf_counter()
    await asyncio.sleep(args.seconds)
    result.watching_cpu = _server_cpu(live) - before
    result.viewers_cpu = cpu_s(them) - child_before
    result.elapsed = time.perf_counter() - started
    last = max(arrivals, default=0)
    result.server_side = service.stats.samples()
    channel = service.channel(camera_id)
    result.skips = sum(v.skips for v in channel.viewers) if channel is not None else 0
    receipts: Receipts = json.loads(await asyncio.to_thread(lambda: out.get(timeout=60)))
    await asyncio.to_thread(child.join, 30)
    result.fragments = last - first + 1
    result.client_side = [
        t - arrivals[seq]
        for mine in receipts
        for seq, t in mine
        if first <= seq <= last and seq in arrivals
    ]


def _report(args: argparse.Namespace, run: _Run) -> None:
    print(
        f"\n{args.cameras} cameras recorded, {args.viewers} viewers of one, {args.seconds:g} s, "
        f"{run.fragments} fragments from it, {args.workers} ingest workers; "
        f"{platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"{'latency (ms)':<36} {'samples':>8} {'p50':>7} {'p99':>7} {'max':>7}")
    for name, values in (
        ("arrival -> WebSocket send (server)", run.server_side),
        ("arrival -> client receive", run.client_side),
    ):
        p50, p99, top = _quantiles(values)
        print(f"{name:<36} {len(values):>8} {p50:>7.2f} {p99:>7.2f} {top:>7.2f}")
    expected = run.fragments * args.viewers
    received = len(run.client_side)
    print(f"viewer skips to a keyframe: {run.skips}; fragments received {received}/{expected}")

    def share(cpu: float) -> str:
        return f"{cpu:6.2f} s = {100 * cpu / run.elapsed:5.1f}% of one core"

    print(f"\nCPU over {args.seconds:g} s")
    print(f"  server, recording only          {share(run.recording_only_cpu)}")
    print(f"  server, recording + {args.viewers:>3} viewers  {share(run.watching_cpu)}")
    print(f"  the {args.viewers} viewers' process        {share(run.viewers_cpu)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=0, help="media.ingest_workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as scratch:
        work = Path(scratch)
        clip = work / "pattern-720p-2mbit.mp4"
        encode_test_pattern(
            clip, width=1280, height=720, fps=25, seconds=20, gop_seconds=2, bit_rate=BIT_RATE
        )
        port = free_port()
        cameras = subprocess.Popen(
            [
                *(sys.executable, "-m", "safecity", "sim", "cameras", "--port", str(port)),
                *("--count", str(args.cameras), "--source", str(clip)),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            urls = [f"rtsp://127.0.0.1:{port}/cam/{i}" for i in range(1, args.cameras + 1)]
            _report(args, asyncio.run(_run(args, work, urls)))
        finally:
            cameras.terminate()
            cameras.wait()


if __name__ == "__main__":
    main()
