"""`safecity evidence ...`: check exported evidence and hand out the key that signs it.

    safecity evidence verify clip.mp4 --public-key 3b6a27bc...    # anyone, no settings needed
    safecity evidence verify clip.mp4 --config safecity.yaml      # a node: key from master_key
    safecity evidence public-key --config safecity.yaml           # the hex key for courts
    safecity evidence export --camera 7 --start 2026-03-01T02:00:00 --end ... --out clip.mp4

`verify` exits 0 when the file and its manifest are intact and signed by the trusted key, 1 with
one line per problem when they are not, and 2 when it cannot start (no key, a bad settings file).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.progress import Progress as RichProgress

from safecity.cli_identity import cli_scope
from safecity.core.errors import SafecityError
from safecity.media.evidence import (
    EvidenceManifest,
    key_fingerprint,
    manifest_path,
    parse_public_key,
    public_key_hex,
    signing_key,
    verify,
)
from safecity.settings import load_settings

evidence_app = typer.Typer(
    help="Evidence exports: verify a file against its signed manifest", no_args_is_help=True
)

ISO_FORMATS: Final = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z"]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML settings file (its master key gives the signing key)"
    ),
]


def _platform_key(config: Path | None) -> Ed25519PublicKey:
    settings = load_settings(config)
    return signing_key(settings.security.master_key.get_secret_value()).public_key()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@evidence_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The exported MP4")],
    manifest: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="The manifest (default: FILE.manifest.json beside it)"),
    ] = None,
    public_key: Annotated[
        str | None, typer.Option(help="The trusted signing key, 64 hex digits")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check that FILE is exactly what its manifest describes and that the manifest is signed
    by the trusted key (given with --public-key, or derived from --config's master key)."""
    if (public_key is None) == (config is None):
        raise _fail("give the trusted key with either --public-key HEX or --config FILE")
    try:
        trusted = parse_public_key(public_key) if public_key else _platform_key(config)
        report = verify(file, manifest, trusted)
    except SafecityError as exc:
        raise _fail(str(exc)) from exc
    if not report.ok:
        for problem in report.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{file}: evidence NOT intact ({len(report.problems)} problems)", err=True)
        raise typer.Exit(1)
    assert report.manifest is not None
    typer.echo(_summary(file, report.manifest))
    typer.echo(f"  signed by key {public_key_hex(trusted)} ({key_fingerprint(trusted)[:16]})")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _summary(file: Path, manifest: EvidenceManifest) -> str:
    why = [part for part in (manifest.case_number, manifest.reason) if part]
    lines = [
        f"{file}: evidence intact",
        f"  camera {manifest.camera_id} ({manifest.camera_gb_id}), {manifest.codec}",
        f"  shows {_iso(manifest.actual_start)} to {_iso(manifest.actual_end)}"
        f" (asked {_iso(manifest.requested_start)} to {_iso(manifest.requested_end)})",
        f"  {manifest.frames} frames, {manifest.size_bytes} bytes, sha256 {manifest.sha256}",
        f"  exported by {manifest.exporter} at {_iso(manifest.exported_at)}"
        + (f" for {' / '.join(why)}" if why else ""),
    ]
    return "\n".join(lines)


@evidence_app.command("public-key")
def public_key_command(config: ConfigOption = None) -> None:
    """Print the platform's evidence signing public key (hex) to hand to courts and partners."""
    try:
        key = _platform_key(config)
    except SafecityError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(public_key_hex(key))


@evidence_app.command("export")
def export_command(
    camera: Annotated[int, typer.Option(min=1, help="Camera device id")],
    start: Annotated[datetime, typer.Option(help="From (UTC, ISO 8601)", formats=ISO_FORMATS)],
    end: Annotated[datetime, typer.Option(help="To (UTC, ISO 8601)", formats=ISO_FORMATS)],
    out: Annotated[Path, typer.Option(dir_okay=False, help="The MP4 to write")],
    reason: Annotated[str | None, typer.Option(help="Why it is exported")] = None,
    case_number: Annotated[str | None, typer.Option(help="The case it belongs to")] = None,
    config: ConfigOption = None,
) -> None:
    """Export a camera's recording as one MP4 with a signed manifest beside it (audited)."""
    from safecity.app import open_platform  # noqa: PLC0415 (heavy)
    from safecity.process_setup import configure_logging  # noqa: PLC0415

    settings = load_settings(config)
    configure_logging(settings.log)

    async def work() -> EvidenceManifest:
        async with open_platform(settings) as platform:
            with RichProgress(transient=True) as bar:
                task = bar.add_task(f"exporting camera {camera}", total=None)

                def advance(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await platform.evidence.export(
                    cli_scope(),
                    camera,
                    _utc(start),
                    _utc(end),
                    out,
                    reason=reason,
                    case_number=case_number,
                    progress=advance,
                )

    try:
        manifest = asyncio.run(work())
    except SafecityError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(_summary(out, manifest))
    typer.echo(f"  manifest {manifest_path(out)}")


def _utc(moment: datetime) -> datetime:
    """Naive times on the command line are UTC, as the help says."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
