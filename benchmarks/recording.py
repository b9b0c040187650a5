"""Record N simulated 2 Mbit/s H.264 cameras at once: CPU seconds per stream-hour of our
recorder beside one `ffmpeg -c copy -f segment` process per camera (how Frigate records), on the
same streams, and whether our recordings cover the run without overlap and with every gap named.

Run: python benchmarks/recording.py [--cameras 20] [--seconds 60] [--segment 10] [--only ours]
     [--engine native|pyav] [--workers N] [--profile out.txt] [--first ours|ffmpeg]
     [--b-frames N]

A 1280x720 25 fps test pattern at 2 Mbit/s (keyframe every 2 s; `--b-frames N`: up to N B-frames
in a row, in a pyramid, as some cameras send) is encoded once with libx264 and
served by `safecity sim cameras` in its own process (its CPU is not counted). Ours: `safecity
serve` on a fresh SQLite store whose registry holds N cameras pointing at those streams (DC-09
receiver off), so the API server, the index writes and the retention sweep are in the figure
too; `--engine` picks its ingest (`media.ingest_engine`: native, the default, or pyav) and
`--workers` how many ingest worker processes record (`media.ingest_workers`; 0, the default:
threads in the platform process). Theirs: N Debian `ffmpeg` processes (RTSP over TCP, `-c copy
-f segment -segment_time S -reset_timestamps 1`). CPU is read from /proc over `--seconds` after
a warm-up (`--warm-up`, 5 s) in which the streams open (start-up is not counted for either);
ours counts the platform process and its children (the ingest workers). The two runs follow
each other, ours first unless `--first ffmpeg`: on a freshly started virtual machine the same
recorder's system time fell by half over its first runs (2026-12-03), so compare both orders
there.

Correctness of ours, from the index: per camera, recorded seconds against the wall time
between its first segment's start and its last segment's end (they should match within one
segment's rounding), overlapping segments (should be none), and gaps with their causes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from local_processes import cpu_s, free_port, tree_cpu_s, wait_port
from safecity.app import open_platform
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_city
from safecity.malloc_tuning import TUNABLES, glibc_version, thp_modes, tunables_wanted
from safecity.org.models import DeviceDraft, DeviceKind
from safecity.protocols.rtp.access_unit import COMPILED
from safecity.settings import load_settings
from safecity.sim.camera_source import encode_test_pattern
from safecity.store.secretbox import SecretBox

BIT_RATE: Final = 2_000_000
WARM_UP_S: Final = 5.0  # streams open and the first keyframes arrive before the clock starts
WARM_UP = {"s": WARM_UP_S}  # `--warm-up` (longer with ingest workers, which start after serve)


def _thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """User and system CPU seconds of each thread of a process so far (/proc/PID/task)."""
    found: dict[int, tuple[float, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        found[int(task.name)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return found


THREADS: dict[str, list[tuple[float, float]]] = {}
OWN_CPU: dict[str, float] = {}  # the platform process's own share of ours


def _measure(processes: list[subprocess.Popen[bytes]], seconds: float) -> float:
    """CPU the processes and their children use during `seconds` after the warm-up (start-up
    not counted); for a single process, its own CPU goes to `OWN_CPU` and its busiest threads'
    shares to `THREADS`."""
    time.sleep(WARM_UP["s"])
    before = sum(tree_cpu_s(p.pid) for p in processes)
    own = cpu_s(processes[0].pid)
    threads = _thread_cpu(processes[0].pid) if len(processes) == 1 else {}
    time.sleep(seconds)
    used = sum(tree_cpu_s(p.pid) for p in processes) - before
    if len(processes) == 1:
        OWN_CPU["ours"] = cpu_s(processes[0].pid) - own
    if threads:
        after = _thread_cpu(processes[0].pid)
        spent = [
            (user - threads.get(t, (0.0, 0.0))[0], system - threads.get(t, (0.0, 0.0))[1])
            for t, (user, system) in after.items()
        ]
        THREADS["ours"] = sorted(spent, key=sum, reverse=True)[:4]
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        process.wait()
    return used


async def _seed(store: Path, master_key: str, urls: list[str]) -> None:
    settings = load_settings(
        None, store={"url": f"sqlite:///{store}"}, security={"master_key": master_key}
    )
    async with open_platform(settings) as platform:
        await seed_demo_city(platform.services)
        page = PageRequest(limit=10_000)
        for device in (await platform.services.devices.list(SEED_SCOPE, page)).items:
            await platform.services.devices.delete(SEED_SCOPE, device.id)
        points = (await platform.services.points.list(SEED_SCOPE, page)).items
        for index, url in enumerate(urls):
            await platform.services.devices.create(
                SEED_SCOPE,
                DeviceDraft(
                    point_id=points[index % len(points)].id,
                    kind=DeviceKind.CAMERA,
                    name=f"bench camera {index + 1}",
                    stream_url=url,
                ),
            )


def _ours(
    work: Path,
    urls: list[str],
    seconds: float,
    segment_s: int,
    profile: Path | None,
    engine: str,
    workers: int,
) -> tuple[float, Path]:
    store = work / "ours.db"
    master_key = SecretBox.new_key()
    asyncio.run(_seed(store, master_key, urls))
    config = work / "ours.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{store}\n"
        f"api:\n  host: 127.0.0.1\n  port: 0\n"
        f"receiver:\n  enabled: false\n"
        f"media:\n  root: {work / 'ours'}\n  segment_s: {segment_s}\n  min_free_bytes: 0\n"
        f"  ingest_engine: {engine}\n  ingest_workers: {workers}\n"
        f"security:\n  master_key: {master_key}\n"
        f"log:\n  level: error\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "safecity", "serve", "--config", str(config)]
    environ = dict(os.environ)
    if tunables_wanted(["serve"], environ, glibc_version(), thp_modes()):
        environ["GLIBC_TUNABLES"] = TUNABLES  # what serve restarts with; so py-spy stays attached
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=environ)
    if profile is not None:  # sample the recorder threads with py-spy (pip install py-spy)
        spy = [_py_spy(), "record", "--threads", "--format", "raw", "-o", str(profile)]
        spy += ["--duration", str(int(WARM_UP["s"] + seconds)), "--pid", str(process.pid)]
        subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _measure([process], seconds), store


def _py_spy() -> str:
    """py-spy from PATH, or beside this interpreter (a virtual environment's bin/)."""
    beside = Path(sys.executable).with_name("py-spy")
    return shutil.which("py-spy") or str(beside)


def _ffmpeg(work: Path, urls: list[str], seconds: float, segment_s: int) -> float:
    processes = []
    for index, url in enumerate(urls):
        folder = work / "ffmpeg" / str(index + 1)
        folder.mkdir(parents=True)
        command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp"]
        command += ["-i", url, "-c", "copy", "-f", "segment", "-segment_time", str(segment_s)]
        command += ["-reset_timestamps", "1", str(folder / "%05d.mp4")]
        processes.append(subprocess.Popen(command))
    return _measure(processes, seconds)


def _coverage(store: Path) -> list[tuple[int, float, float, int, dict[str, int]]]:
    """Per camera: (id, recorded s, first start to last end s, overlaps, gaps by cause)."""
    with sqlite3.connect(store) as db:
        segments = db.execute(
            "select camera_id, started_at, ended_at from recording_segments"
            " order by camera_id, started_at"
        ).fetchall()
        gaps = db.execute("select camera_id, cause from recording_gaps").fetchall()
    by_camera: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for camera, start, end in segments:
        by_camera[camera].append((datetime.fromisoformat(start), datetime.fromisoformat(end)))
    causes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for camera, cause in gaps:
        causes[camera][cause] += 1
    rows = []
    for camera, spans in sorted(by_camera.items()):
        recorded = sum((end - start).total_seconds() for start, end in spans)
        wall = (spans[-1][1] - spans[0][0]).total_seconds()
        overlaps = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
        rows.append((camera, recorded, wall, overlaps, dict(causes[camera])))
    return rows


def _report(
    args: argparse.Namespace, ours: float | None, theirs: float | None, store: Path | None
) -> None:
    """The table, and the coverage of our recordings from the index in `store`."""
    hours = args.cameras * args.seconds / 3600
    print(
        f"# recording, {datetime.now(UTC):%Y-%m-%d}, {platform.machine()} "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"# cameras={args.cameras} seconds={args.seconds} (+{WARM_UP['s']:.0f} warm-up) "
        f"segment={args.segment}s, 1280x720 25 fps H.264 at {BIT_RATE // 1000} kbit/s"
        f"{f', up to {args.b_frames} B-frames' if args.b_frames else ''}, {args.first} first"
    )
    if args.only != "ffmpeg":
        built = "compiled" if COMPILED else "NOT compiled: pure Python"
        print(f"# ours: RTP fast path (safecity.protocols.rtp._packets) {built}")
    print(f"{'recorder':<36}{'CPU s':>8}{'CPU s per stream-hour':>24}")
    for name, cpu in (
        (f"safecity serve ({args.engine}, {args.workers} workers)", ours),
        (f"ffmpeg -c copy x{args.cameras}", theirs),
    ):
        if cpu is not None:
            print(f"{name:<36}{cpu:>8.1f}{cpu / hours:>24.1f}")
    if ours is not None and theirs:
        print(f"# ours / ffmpeg = {ours / theirs:.2f}")
    if ours is not None and "ours" in OWN_CPU and args.workers:
        own = OWN_CPU["ours"]
        print(f"# ours: platform process {own:.1f} s, ingest workers {ours - own:.1f} s")
    if "ours" in THREADS:
        shares = ", ".join(f"{user:.1f}+{system:.1f}" for user, system in THREADS["ours"])
        print(f"# ours: CPU s (user+system) of its busiest threads: {shares}")
    if store is not None:
        rows = _coverage(store)
        short = [r for r in rows if abs(r[1] - r[2]) > 1.0]
        overlaps = sum(r[3] for r in rows)
        print(
            f"# ours: {len(rows)} cameras recorded, {overlaps} overlaps, "
            f"{len(short)} cameras whose segments differ from their span by more than 1 s"
        )
        for camera, recorded, wall, overlap, causes in rows:
            if abs(recorded - wall) > 1.0 or overlap or causes:
                print(f"#   camera {camera}: {recorded:.1f} s of {wall:.1f} s, gaps {causes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--segment", type=int, default=10)
    parser.add_argument("--only", choices=["ours", "ffmpeg"])
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of safecity serve")
    parser.add_argument("--engine", choices=["native", "pyav"], default="native")
    parser.add_argument("--workers", type=int, default=0, help="media.ingest_workers")
    parser.add_argument("--warm-up", type=float, default=WARM_UP_S, help="seconds not counted")
    parser.add_argument(
        "--first",
        choices=["ours", "ffmpeg"],
        default="ours",
        help="which recorder runs first (a fresh VM gets cheaper over its first runs)",
    )
    parser.add_argument("--b-frames", type=int, default=0, help="B-frames in a row, at most")
    args = parser.parse_args()
    WARM_UP["s"] = args.warm_up
    if args.only != "ours" and shutil.which("ffmpeg") is None:
        raise SystemExit("Debian's ffmpeg is needed for the comparison (apt-get install ffmpeg)")
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as scratch:
        work = Path(scratch)
        clip = work / "pattern-720p-2mbit.mp4"
        encode_test_pattern(
            clip,
            width=1280,
            height=720,
            fps=25,
            seconds=20,
            gop_seconds=2,
            bit_rate=BIT_RATE,
            b_frames=args.b_frames,
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
            ours = theirs = None
            store = None
            order = ["ours", "ffmpeg"] if args.first == "ours" else ["ffmpeg", "ours"]
            for side in order:
                if args.only not in (None, side):
                    continue
                if side == "ours":
                    ours, store = _ours(
                        work,
                        *(urls, args.seconds, args.segment, args.profile),
                        *(args.engine, args.workers),
                    )
                else:
                    theirs = _ffmpeg(work, urls, args.seconds, args.segment)
        finally:
            cameras.terminate()
            cameras.wait()
        _report(args, ours, theirs, store)


if __name__ == "__main__":
    main()
