"""The `safecity` command line."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import Progress

from safecity.access.models import UserDraft
from safecity.adapters.dc09 import Dc09Server
from safecity.api.deps import Services
from safecity.app import Platform, open_platform, serve
from safecity.cli_alarms import alarms_app
from safecity.cli_evidence import evidence_app
from safecity.cli_identity import cli_scope
from safecity.cli_onvif import onvif_app
from safecity.core.errors import SafecityError
from safecity.core.scope import Department, Role
from safecity.demo.cameras import camera_count, demo_clip, first_camera_id, point_cameras_at
from safecity.demo.panels import demo_fleet, run_fleet
from safecity.demo.seed import DEMO_ACCOUNTS, DemoLogin, seed_demo_accounts, seed_demo_city
from safecity.event_loop import loop_factory
from safecity.org.importer import ImportRejected
from safecity.org.models import OrgUnitDraft, OrgUnitKind
from safecity.process_setup import configure_logging, freeze_startup_heap
from safecity.receiver_process import ReceiverProcess
from safecity.settings import Settings, load_settings
from safecity.sim.cameras import CameraServer
from safecity.sim.cli import app as sim_app
from safecity.store.secretbox import SecretBox

app = typer.Typer(
    help="safecity: city surveillance and alarm networking platform", no_args_is_help=True
)
admin_app = typer.Typer(help="Administration: keys, root units, users", no_args_is_help=True)
import_app = typer.Typer(help="Bulk import from spreadsheets", no_args_is_help=True)
export_app = typer.Typer(help="Export the registry", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
app.add_typer(sim_app, name="sim")
app.add_typer(alarms_app, name="alarms")
app.add_typer(evidence_app, name="evidence")
app.add_typer(onvif_app, name="onvif")

err = Console(stderr=True)
out = Console()
T = TypeVar("T")
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file", exists=False, dir_okay=False),
]


def _settings(config: Path | None) -> Settings:
    settings = load_settings(config)
    configure_logging(settings.log)
    return settings


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; print domain errors plainly and exit non-zero."""
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(work())  # type: ignore[arg-type]
    except SafecityError as exc:
        sys.stderr.write(f"error: {exc}\n")  # plain: no wrapping, so file:line stays whole
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _with_platform(config: Path | None, work: Callable[[Platform], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_platform(_settings(config)) as platform:
            return await work(platform)

    return _run(run)


@app.command("serve")
def serve_command(config: ConfigOption = None) -> None:
    """Start the platform with a settings file."""

    async def work(platform: Platform) -> None:
        def ready(url: str) -> None:
            freeze_startup_heap()  # started: what exists now lives as long as the process
            err.print(f"safecity listening on {url}")

        await serve(platform, on_ready=ready)

    _with_platform(config, work)


@app.command("demo")
def demo_command(
    port: Annotated[int, typer.Option(help="HTTP port (0 picks a free one)")] = 8080,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the demo store here instead of a throwaway folder")
    ] = None,
    panels: Annotated[
        int, typer.Option(min=0, max=5000, help="Simulated alarm panels (0: none)")
    ] = DEMO_ACCOUNTS,
    panel_port: Annotated[
        int, typer.Option(min=0, max=65535, help="DC-09 receiver port, TCP and UDP (0: free)")
    ] = 7000,
    panel_rate: Annotated[
        float, typer.Option(min=0.01, help="New panel messages per second over all panels")
    ] = 2.0,
    cameras: Annotated[bool, typer.Option(help="Simulated RTSP cameras, recorded")] = True,
    camera_port: Annotated[
        int, typer.Option(min=0, max=65535, help="RTSP port of the simulated cameras (0: free)")
    ] = 8554,
    footage: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Video the cameras stream (default: shared footage)"),
    ] = None,
) -> None:
    """Start the platform on 127.0.0.1 with a throwaway store seeded with a demo city, its
    alarm accounts and simulated panels reporting to the platform's own DC-09 receiver, and
    simulated cameras that it records."""
    with tempfile.TemporaryDirectory(prefix="safecity-demo-") as scratch:
        folder = data_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        settings = load_settings(
            None,
            store={"url": f"sqlite:///{folder / 'demo.db'}"},
            api={"host": "127.0.0.1", "port": port},
            receiver={"host": "127.0.0.1", "tcp_port": panel_port, "udp_port": panel_port},
            media={"root": str(folder / "recordings"), "segment_s": 10, "quota_bytes": 2 << 30},
            security={"master_key": SecretBox.new_key()},
            log={"json_lines": False, "level": "warning"},
        )
        configure_logging(settings.log)

        async def run() -> None:
            async with open_platform(settings) as platform, AsyncExitStack() as stack:
                logins = await seed_demo_city(platform.services)
                accounts = await seed_demo_accounts(platform.services, count=panels)
                if cameras:
                    server = await _demo_cameras(platform.services, camera_port, footage)
                    await stack.enter_async_context(server)
                    await point_cameras_at(platform.services, server.urls)
                    err.print(
                        f"{server.count} simulated cameras at rtsp://127.0.0.1:{server.port}"
                        f"/cam/1 ... /cam/{server.count}, recorded to {folder / 'recordings'}"
                    )
                await _serve_demo(platform, logins, accounts, panel_rate)

        _run(run)


async def _demo_cameras(services: Services, port: int, footage: Path | None) -> CameraServer:
    clip, what = demo_clip(footage, Path.cwd())
    err.print(f"demo cameras stream {what}")
    count = await camera_count(services)
    return CameraServer(clip, count=max(count, 1), host="127.0.0.1", port=port)


async def _serve_demo(
    platform: Platform,
    logins: list[DemoLogin],
    accounts: list[tuple[str, str | None]],
    panel_rate: float,
) -> None:
    admin = next(who for who in logins if who.role is Role.ADMIN)
    signed_in = await platform.services.signin.sign_in(admin.username, admin.password, None)
    first_camera = await first_camera_id(platform.services)

    def ready(url: str) -> None:
        out.print(f"\n[bold]safecity demo[/bold] is running at [cyan]{url}[/cyan]")
        out.print(f"API docs: {url}/api/docs    metrics: {url}/metrics")
        if first_camera is not None:
            live = f"{url}/live/{first_camera}?token={signed_in.token}"
            out.print(f"Live view (as {admin.username}): {live}", soft_wrap=True)
            played = f"{url}/playback/{first_camera}?token={signed_in.token}"
            out.print(f"Playback, the last 10 minutes: {played}", soft_wrap=True)
        out.print("Sign in (POST /api/auth/login) as:")
        for who in logins:
            row = f"  {who.username:<8} {who.password:<14} {who.role:<10} {who.scope}"
            out.print(row, highlight=False, markup=False)
        out.print("Press Ctrl-C to stop.\n")
        freeze_startup_heap()

    async with asyncio.TaskGroup() as group:
        group.create_task(serve(platform, on_ready=ready))
        if accounts and platform.receiver is not None:
            group.create_task(_demo_panels(platform.receiver, accounts, panel_rate))


async def _demo_panels(
    receiver: Dc09Server | ReceiverProcess, accounts: list[tuple[str, str | None]], rate: float
) -> None:
    await receiver.listening.wait()
    tcp, udp = receiver.tcp_address, receiver.udp_address
    assert tcp is not None
    err.print(f"{len(accounts)} simulated alarm panels report to DC-09 port {tcp[1]}")
    fleet = demo_fleet(
        accounts, host=tcp[0], tcp_port=tcp[1], udp_port=udp[1] if udp else None, rate=rate
    )
    await run_fleet(fleet)


@admin_app.command("new-key")
def new_key() -> None:
    """Print a fresh master key for security.master_key."""
    out.print(SecretBox.new_key())


@admin_app.command("create-root-unit")
def create_root_unit(
    name: Annotated[str, typer.Option(help="e.g. 深圳市公安局")],
    centre_code: Annotated[str, typer.Option(help="8-digit GB/T 28181 centre code")],
    kind: Annotated[OrgUnitKind, typer.Option()] = OrgUnitKind.BUREAU,
    config: ConfigOption = None,
) -> None:
    """Create the root of an org tree (a city bureau) in an empty store."""

    async def work(platform: Platform) -> None:
        unit = await platform.services.units.create_root(
            OrgUnitDraft(name=name, centre_code=centre_code, kind=kind), actor=cli_scope()
        )
        out.print(f"created org unit {unit.id} {unit.name} ({unit.centre_code})")

    _with_platform(config, work)


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option()],
    org_unit: Annotated[str, typer.Option(help="Centre code of the unit the user is scoped to")],
    role: Annotated[Role, typer.Option()] = Role.ADMIN,
    department: Annotated[Department | None, typer.Option(help="For partners")] = None,
    password: Annotated[
        str | None, typer.Option(help="Omit to be asked (safer than the command line)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a user scoped to an org unit's subtree."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)

    async def work(platform: Platform) -> None:
        units = await platform.services.units.find_by_centre(cli_scope(), org_unit)
        user = await platform.services.users.create(
            cli_scope(),
            UserDraft(
                username=username,
                display_name=username,
                password=SecretStr(secret),
                role=role,
                org_unit_id=units.id,
                department=department,
            ),
        )
        out.print(f"created {user.role} {user.username} scoped to {org_unit}")

    _with_platform(config, work)


@import_app.command("points")
def import_points(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    config: ConfigOption = None,
) -> None:
    """Import points; a file with any bad row imports nothing and lists every bad row."""

    async def work(platform: Platform) -> None:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task(f"importing {file.name}", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            try:
                report = await platform.importer.import_file(cli_scope(), file, progress=advance)
            except ImportRejected as rejected:
                progress.stop()
                for problem in rejected.problems:
                    err.print(str(problem), highlight=False, markup=False)
                err.print(f"nothing imported: {rejected}", highlight=False, markup=False)
                raise typer.Exit(1) from rejected
        out.print(f"imported {report.count} points from {file}")

    _with_platform(config, work)


@import_app.command("accounts")
def import_accounts(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    config: ConfigOption = None,
) -> None:
    """Import alarm subscriber accounts; a file with any bad row imports nothing."""

    async def work(platform: Platform) -> None:
        try:
            report = await platform.account_importer.import_file(cli_scope(), file)
        except ImportRejected as rejected:
            for problem in rejected.problems:
                err.print(str(problem), highlight=False, markup=False)
            if rejected.omitted:
                err.print(f"... and {rejected.omitted} more problems", highlight=False)
            err.print(f"{file.name}: nothing imported", highlight=False, markup=False)
            raise typer.Exit(1) from rejected
        out.print(f"imported {report.count} alarm accounts from {file}")

    _with_platform(config, work)


@export_app.command("points")
def export_points(
    output: Annotated[Path, typer.Argument(dir_okay=False, help="File to write ('-' for stdout)")],
    fmt: Annotated[str, typer.Option("--format", help="csv | geojson | public-geojson")] = "csv",
    config: ConfigOption = None,
) -> None:
    """Export points as CSV (the import format), GeoJSON, or public GeoJSON (signed points only)."""
    if fmt not in ("csv", "geojson", "public-geojson"):
        err.print(f"error: --format must be csv, geojson or public-geojson, not {fmt!r}")
        raise typer.Exit(2)

    async def work(platform: Platform) -> str:
        exporter = platform.services.exporter
        if fmt == "csv":
            return await exporter.csv(cli_scope())
        data = await (exporter.geojson if fmt == "geojson" else exporter.public_geojson)(
            cli_scope()
        )
        return json.dumps(data, ensure_ascii=False, indent=1)

    text = _with_platform(config, work)
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None) -> None:
    """Check the whole hash chain; name the first altered, removed or reordered record."""

    async def work(platform: Platform) -> None:
        report = await platform.services.audit.verify()
        if report.ok:
            out.print(f"audit chain intact: {report.checked} records")
            return
        err.print(f"audit chain BROKEN: {report.problem}", highlight=False, markup=False)
        raise typer.Exit(1)

    _with_platform(config, work)
