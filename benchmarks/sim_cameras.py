"""How much CPU the RTSP camera simulator needs per stream it serves.

Run: python benchmarks/sim_cameras.py [--streams 300] [--clients 300] [--transport both]
     [--source synthetic] [--seconds 20]

The simulator runs in a child process (`--serve`, the same `CameraServer` that `safecity sim
cameras` runs) with `--streams` cameras. This process opens `--clients` light RTSP clients
(DESCRIBE, SETUP, PLAY, then count what arrives, no decoding) on cameras 1, 2, ... round robin,
over TCP interleaved and/or UDP. A camera nobody plays costs nothing, so the load is set by the
clients: by default one per stream. After a warm-up the child measures its own CPU time
(`time.process_time`, user + system) over `--seconds` and reports it with what it sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtsp import RtspDecoder, RtspResponse
from safecity.sim.camera_packets import packetise
from safecity.sim.camera_source import load_source
from safecity.sim.cameras import CameraServer

WARM_UP_S: Final = 3.0


# -- the child: the simulator, measuring itself


async def serve(streams: int, source: str) -> None:
    clip = packetise(load_source(source))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with CameraServer(clip, count=streams, host="127.0.0.1", port=0) as server:
        print(json.dumps({"port": server.port, "fps": clip.clip.frame_rate}), flush=True)
        await reader.readline()  # start
        cpu, wall, sent = time.process_time(), time.monotonic(), _sent(server)
        await reader.readline()  # stop
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        after = _sent(server)
        delta = {key: after[key] - sent[key] for key in sent}
        sessions = server.stats.sessions_active
        print(json.dumps({"cpu_s": cpu, "wall_s": wall, "sessions": sessions, **delta}), flush=True)


def _sent(server: CameraServer) -> dict[str, int]:
    stats = server.stats
    return {
        "frames": stats.frames_sent,
        "packets": stats.packets_sent,
        "bytes": stats.bytes_sent,
        "skipped": stats.frames_skipped,
    }


# -- the parent: clients


@dataclass
class Counter:
    octets: int = 0
    datagrams: int = 0


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:  # noqa: ARG002
        self.counter.octets += len(data)
        self.counter.datagrams += 1


async def _ask(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, decoder: RtspDecoder, text: str
) -> RtspResponse:
    writer.write(text.encode())
    while True:
        for item in decoder.feed(await reader.read(65536)):
            if isinstance(item, RtspResponse):
                return item


async def client(port: int, camera: int, transport: str, counter: Counter) -> None:
    url = f"rtsp://127.0.0.1:{port}/cam/{camera}"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = RtspDecoder()
    udp: list[asyncio.DatagramTransport] = []
    try:
        await _ask(reader, writer, decoder, f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        if transport == "tcp":
            spec = "RTP/AVP/TCP;unicast;interleaved=0-1"
        else:
            loop = asyncio.get_running_loop()
            rtp, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(counter), local_addr=("127.0.0.1", 0)
            )
            udp.append(rtp)
            rtp_port = rtp.get_extra_info("sockname")[1]
            spec = f"RTP/AVP;unicast;client_port={rtp_port}-{rtp_port + 1}"
        setup = await _ask(
            reader,
            writer,
            decoder,
            f"SETUP {url}/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: {spec}\r\n\r\n",
        )
        session = (setup.header("Session") or "").split(";")[0]
        await _ask(
            reader, writer, decoder, f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\n\r\n"
        )
        while data := await reader.read(1 << 16):
            counter.octets += len(data)
    finally:
        for endpoint in udp:
            endpoint.close()
        writer.close()


async def measure(args: argparse.Namespace, transport: str) -> dict[str, float]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--streams",
        str(args.streams),
        "--source",
        args.source,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    ready = await _report(child.stdout)
    counter = Counter()
    tasks = []
    client_cpu = time.process_time()
    try:
        async with asyncio.TaskGroup() as group:
            for i in range(args.clients):
                camera = i % args.streams + 1
                tasks.append(
                    group.create_task(client(int(ready["port"]), camera, transport, counter))
                )
                if i % 20 == 19:
                    await asyncio.sleep(0.05)  # do not open them all in one burst
            await asyncio.sleep(WARM_UP_S)
            received = counter.octets
            client_cpu = time.process_time()
            child.stdin.write(b"start\n")
            await asyncio.sleep(args.seconds)
            child.stdin.write(b"stop\n")
            report = await _report(child.stdout)
            received = counter.octets - received
            client_cpu = time.process_time() - client_cpu
            for task in tasks:
                task.cancel()
    except* asyncio.CancelledError:
        pass
    child.stdin.close()
    await child.wait()
    wall = report["wall_s"]
    return {
        "sessions": report["sessions"],
        "fps": ready["fps"],
        "cpu_pct": 100 * report["cpu_s"] / wall,
        "cpu_ms_per_stream_s": 1000 * report["cpu_s"] / wall / max(1, report["sessions"]),
        "frames_s": report["frames"] / wall,
        "packets_s": report["packets"] / wall,
        "mbit_s": 8 * report["bytes"] / wall / 1e6,
        "received_mbit_s": 8 * received / wall / 1e6,
        "skipped": report["skipped"],
        "client_cpu_pct": 100 * client_cpu / wall,
    }


async def _report(stdout: asyncio.StreamReader) -> dict[str, float]:
    """The child's next JSON line (its log lines go to the same stdout)."""
    while True:
        line = await stdout.readline()
        if not line:
            raise RuntimeError("the simulator exited")
        if line.startswith(b"{"):
            report: dict[str, float] = json.loads(line)
            return report


def table(rows: list[tuple[str, dict[str, float]]], args: argparse.Namespace) -> str:
    header = (
        f"{'transport':<9} {'sessions':>8} {'fps':>5} {'sim CPU %':>9} {'ms CPU/stream/s':>15} "
        f"{'frames/s':>9} {'packets/s':>10} {'sent Mbit/s':>11} {'recv Mbit/s':>11} "
        f"{'skipped':>7} {'client CPU %':>12}"
    )
    lines = [
        f"RTSP camera simulator: {args.streams} streams, {args.clients} clients, source "
        f"{args.source}, {args.seconds:g} s measured; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}",
        header,
        "-" * len(header),
    ]
    for name, r in rows:
        lines.append(
            f"{name:<9} {r['sessions']:>8.0f} {r['fps']:>5.1f} {r['cpu_pct']:>9.1f} "
            f"{r['cpu_ms_per_stream_s']:>15.2f} {r['frames_s']:>9.0f} {r['packets_s']:>10.0f} "
            f"{r['mbit_s']:>11.1f} {r['received_mbit_s']:>11.1f} {r['skipped']:>7.0f} "
            f"{r['client_cpu_pct']:>12.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--clients", type=int, default=None, help="default: one per stream")
    parser.add_argument("--transport", choices=["tcp", "udp", "both"], default="both")
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    random.seed(1)
    if args.serve:
        asyncio.run(serve(args.streams, args.source))
        return
    if args.clients is None:
        args.clients = args.streams
    transports = ["tcp", "udp"] if args.transport == "both" else [args.transport]
    rows = [(name, asyncio.run(measure(args, name))) for name in transports]
    print(table(rows, args))


if __name__ == "__main__":
    main()
