"""`safecity onvif ...`: find ONVIF cameras and read what they offer, before registering them.

    safecity onvif discover                                   # WS-Discovery on the local network
    safecity onvif discover --address 10.1.2.3 --port 3702    # one camera, unicast (other subnet)
    safecity onvif discover --probe-profiles --user admin     # and each one's profiles, stream URIs

One block per answering camera: its endpoint and name, its device service address (what a
device's `onvif_url` takes) and the address the answer came from, its hardware and scopes; with
`--probe-profiles`, each media profile with its video settings and RTSP URI (the first is what
the platform records). Exits 1 when no camera answered.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

import typer

from safecity.adapters.onvif import DiscoveredCamera, OnvifCamera, ProfileStream, discover
from safecity.core.errors import SafecityError
from safecity.protocols.wsdiscovery import MULTICAST_ADDRESS, PORT

onvif_app = typer.Typer(help="ONVIF cameras: discovery and profiles", no_args_is_help=True)

HARDWARE_SCOPE: Final = "onvif://www.onvif.org/hardware/"


def _hardware(camera: DiscoveredCamera) -> str | None:
    found = (s.removeprefix(HARDWARE_SCOPE) for s in camera.scopes if s.startswith(HARDWARE_SCOPE))
    return next(found, None)


def _describe(camera: DiscoveredCamera) -> list[str]:
    lines = [f"{camera.endpoint}  {camera.name or '(no name)'}"]
    lines += [f"  address  {xaddr}" for xaddr in camera.xaddrs]
    lines.append(f"  from     {camera.sender}")
    hardware = _hardware(camera)
    if hardware is not None:
        lines.append(f"  hardware {hardware}")
    lines += [f"  scope    {scope}" for scope in camera.scopes]
    return lines


def _profile_line(stream: ProfileStream) -> str:
    profile = stream.profile
    size = f"{profile.width}x{profile.height}" if profile.width and profile.height else "?"
    video = f"{profile.encoding or '?'} {size}"
    if profile.fps:
        video += f" {profile.fps:g} fps"
    if profile.bitrate_kbps:
        video += f" {profile.bitrate_kbps} kbit/s"
    ptz = " ptz" if profile.ptz else ""
    return f"  profile  {profile.token} ({profile.name}) {video}{ptz}: {stream.uri}"


async def _profiles(
    camera: DiscoveredCamera, user: str, password: str, timeout_s: float
) -> list[str]:
    where = camera.host_port
    if where is None:
        return ["  profiles: no http device service address"]
    try:
        async with OnvifCamera(*where, user, password, timeout_s=timeout_s) as device:
            return [_profile_line(stream) for stream in await device.streams()]
    except SafecityError as error:
        return [f"  profiles: {error}"]


@onvif_app.command("discover")
def discover_command(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=60, help="Seconds to wait for answers")
    ] = 2.0,
    address: Annotated[
        str, typer.Option(help="Where the Probe goes: the multicast group, or one camera")
    ] = MULTICAST_ADDRESS,
    port: Annotated[int, typer.Option(min=1, max=65535, help="WS-Discovery UDP port")] = PORT,
    probe_profiles: Annotated[
        bool, typer.Option("--probe-profiles", help="Also list each camera's profiles and URIs")
    ] = False,
    user: Annotated[str, typer.Option(help="Username for --probe-profiles")] = "admin",
    password: Annotated[
        str | None, typer.Option(help="Password for --probe-profiles (asked if omitted)")
    ] = None,
) -> None:
    """Probe for ONVIF cameras (dn:NetworkVideoTransmitter) and print what answers."""
    if probe_profiles and password is None:
        password = typer.prompt(f"password for {user}", hide_input=True)

    async def work() -> list[list[str]]:
        found = await discover(address=address, port=port, timeout_s=timeout)
        blocks = [_describe(camera) for camera in found]
        if probe_profiles:
            assert password is not None
            extra = await asyncio.gather(
                *(_profiles(camera, user, password, max(timeout, 3.0)) for camera in found)
            )
            blocks = [block + more for block, more in zip(blocks, extra, strict=True)]
        return blocks

    try:
        blocks = asyncio.run(work())
    except (OSError, SafecityError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for block in blocks:
        typer.echo("\n".join(block))
    if not blocks:
        typer.echo("no ONVIF camera answered", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(blocks)} camera(s) found")
