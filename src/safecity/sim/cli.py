"""`safecity sim ...`: simulators of real peers, started from the command line.

`safecity sim cameras` serves N simulated RTSP cameras (`rtsp://HOST:PORT/cam/1` ... `/cam/N`)
of one clip, a video file served without re-encoding or `synthetic` (a test pattern with a
burnt-in clock, encoded once), over RTSP/1.0 with RTP over TCP interleaved or UDP.

`safecity sim panels` runs N DC-09 alarm panels against a receiver. Accounts are numbered
"10" + four hex digits, account i (from 0) being f"10{i + 1:04X}": 100001, 100002, ... 1003E8
for a thousand panels (`--account-prefix` changes the "10"). With `--encrypted` every panel uses
the one key given as `--key-hex` (32/48/64 hex digits) or `--key-text` (16/24/32 characters,
the notation of pysiaalarm). It prints the report as a table and exits 0 when every message
sent was acknowledged, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safecity.core.errors import ConfigError
from safecity.protocols.dc09 import AesKey
from safecity.sim.cameras import CameraServer
from safecity.sim.panels import (
    PanelFleet,
    SimConfig,
    SimReport,
    demo_panels,
    numbered_accounts,
)

app = typer.Typer(help="Simulators of real peers: alarm panels, cameras", no_args_is_help=True)
out = Console()


@app.callback()
def sim() -> None:
    """Simulators of real peers (a group, also when it is run on its own)."""


@app.command("panels")
def panels_command(
    host: Annotated[str, typer.Option(help="Receiver address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Receiver port (TCP and UDP)")] = 7000,
    count: Annotated[int, typer.Option(min=1, max=0xFFFF, help="Number of panels")] = 10,
    rate: Annotated[
        float, typer.Option(min=0.001, help="New messages per second over all panels")
    ] = 10.0,
    encrypted: Annotated[bool, typer.Option(help="Encrypt with --key-hex or --key-text")] = False,
    key_hex: Annotated[str | None, typer.Option(help="AES key as 32/48/64 hex digits")] = None,
    key_text: Annotated[
        str | None, typer.Option(help="AES key as 16/24/32 characters (pysiaalarm's notation)")
    ] = None,
    udp_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of panels on UDP")
    ] = 0.0,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Seconds to run (omit: until Ctrl-C)")
    ] = None,
    messages: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many new messages in total")
    ] = None,
    ack_timeout: Annotated[float, typer.Option(min=0.01, help="Seconds to wait for an ACK")] = 20.0,
    retries: Annotated[
        int, typer.Option(min=-1, help="Retransmissions per message (-1: until the deadline)")
    ] = 3,
    keep_open: Annotated[
        bool, typer.Option(help="TCP: one connection for many messages, or one per message")
    ] = True,
    polls: Annotated[bool, typer.Option(help="Include NULL supervision polls")] = True,
    receiver: Annotated[str | None, typer.Option(help="Receiver number (R field)")] = None,
    line: Annotated[str, typer.Option(help="Line number (L field)")] = "0",
    account_prefix: Annotated[str, typer.Option(help="Hex digits before the number")] = "10",
    seed: Annotated[int, typer.Option(help="Seed of the traffic mix")] = 1,
) -> None:
    """Run alarm panels against a DC-09 receiver and print what was acknowledged."""
    key = _key(encrypted=encrypted, key_hex=key_hex, key_text=key_text)
    accounts = [(account, key) for account in numbered_accounts(count, account_prefix)]
    config = SimConfig(
        host=host,
        port=port,
        rate=rate,
        duration_s=duration,
        messages=messages,
        ack_timeout_s=ack_timeout,
        retries=None if retries < 0 else retries,
        keep_open=keep_open,
        seed=seed,
        include_polls=polls,
        receiver=receiver,
        line=line,
    )
    fleet = PanelFleet(config, demo_panels(accounts, udp_share=udp_share))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the report so far is still worth it
        asyncio.run(fleet.run())
    out.print(report_table(fleet.report))
    raise typer.Exit(0 if fleet.report.acknowledged == fleet.report.sent else 1)


@app.command("cameras")
def cameras_command(
    host: Annotated[str, typer.Option(help="Address to listen on (TCP and UDP)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="RTSP port (0: any free)")] = 8554,
    count: Annotated[int, typer.Option(min=1, max=10000, help="Number of cameras")] = 1,
    source: Annotated[
        str, typer.Option(help="H.264/H.265 video file, or `synthetic` (a test pattern)")
    ] = "synthetic",
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Seconds to serve (omit: until Ctrl-C)")
    ] = None,
    payload_type: Annotated[
        int, typer.Option(min=96, max=127, help="RTP payload type of the video")
    ] = 96,
) -> None:
    """Serve N RTSP cameras of one looping clip and print their URLs."""
    # PyAV loads FFmpeg: import it only for this command, not for every `safecity` start
    from safecity.sim.camera_packets import packetise  # noqa: PLC0415
    from safecity.sim.camera_source import load_source  # noqa: PLC0415

    try:
        clip = packetise(load_source(source), payload_type=payload_type)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--source") from exc
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_cameras(CameraServer(clip, count=count, host=host, port=port), duration))


async def _serve_cameras(server: CameraServer, duration: float | None) -> None:
    async with server:
        clip = server.clip.clip
        out.print(
            f"{server.count} cameras, {clip.codec} {clip.width}x{clip.height} "
            f"{clip.frame_rate:g} fps, a {clip.seconds:.1f} s loop; RTP over TCP or UDP "
            f"(server ports {server.server_ports})"
        )
        for url in server.urls:
            out.print(url, highlight=False, soft_wrap=True)
        await asyncio.sleep(duration if duration is not None else float("inf"))
    stats = server.stats
    out.print(
        f"served {stats.sessions_started} sessions, {stats.frames_sent} frames, "
        f"{stats.packets_sent} packets, {stats.bytes_sent} bytes"
    )


@app.command("onvif")
def onvif_command(
    host: Annotated[str, typer.Option(help="Address to listen on (HTTP, RTSP, WS-Discovery)")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="HTTP port of camera 1, +1 per camera (0: any)")
    ] = 8000,
    count: Annotated[int, typer.Option(min=1, max=1000, help="Number of cameras")] = 1,
    rtsp_port: Annotated[
        int, typer.Option(min=0, max=65535, help="RTSP port of the main streams (0: any)")
    ] = 8554,
    username: Annotated[str, typer.Option(help="ONVIF user of every camera")] = "admin",
    password: Annotated[str, typer.Option(help="ONVIF password of every camera")] = "admin",  # noqa: S107 - a simulator's factory default
    discovery_port: Annotated[
        int, typer.Option(min=0, max=65535, help="WS-Discovery UDP port (3702: multicast)")
    ] = 3702,
    events_every: Annotated[
        float | None, typer.Option(min=0.1, help="Raise motion/tamper events this often (s)")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.0, help="Seconds to serve (omit: until Ctrl-C)")
    ] = None,
) -> None:
    """Serve N ONVIF cameras (device, media, PTZ, events; WS-Discovery), each with a main and a
    sub-stream from simulated RTSP cameras, and print their addresses."""
    from safecity.sim.onvif_serve import serve_onvif  # noqa: PLC0415 - loads PyAV and aiohttp

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_onvif(
                out,
                host=host,
                port=port,
                count=count,
                rtsp_port=rtsp_port,
                username=username,
                password=password,
                discovery_port=discovery_port,
                events_every=events_every,
                duration=duration,
            )
        )


def _key(*, encrypted: bool, key_hex: str | None, key_text: str | None) -> AesKey | None:
    if not encrypted:
        return None
    if (key_hex is None) == (key_text is None):
        raise typer.BadParameter("--encrypted needs exactly one of --key-hex and --key-text")
    try:
        return AesKey.from_hex(key_hex) if key_hex is not None else AesKey.from_text(key_text or "")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def report_table(report: SimReport) -> Table:
    table = Table(title="alarm panels", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("sent", str(report.sent)),
        ("acknowledged", str(report.acknowledged)),
        ("unacknowledged", str(report.unacknowledged)),
        ("refused (DUH)", str(report.refused)),
        ("NAKs", str(report.naks)),
        ("retransmissions", str(report.retransmissions)),
        ("reconnects", str(report.reconnects)),
        ("elapsed", f"{report.elapsed_s:.1f} s"),
        ("throughput", f"{report.throughput:.1f} ACKs/s"),
        ("p50 ACK latency", _ms(report.p50)),
        ("p99 ACK latency", _ms(report.p99)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"
