"""Evidence packages: an exported MP4 and, beside it, a manifest signed with the platform's
Ed25519 key that says what the file is (camera, time range, who exported it, why) and pins its
content (size, SHA-256, frame count).

Manifest: `<name>.mp4.manifest.json`, UTF-8 JSON, all values strings, integers or null (no
floats), times ISO 8601 UTC (`2026-03-01T08:00:09.600000Z`). The signature (base64, RFC 4648
with padding) is Ed25519 (RFC 8032) over the canonical JSON of every other member:
`json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` in UTF-8, which
anyone can reproduce (`jq -cS 'del(.signature)' FILE | tr -d '\\n'`) to check a package without
safecity. The file itself is written indented for people to read; layout is not signed.

Key: derived from `security.master_key` with HKDF-SHA256 (RFC 5869, no salt, info
`safecity evidence signing v1`), so every node holding the master key signs with the same key and
nothing new is stored. The public key (32 bytes, hex) is what courts and partners are given; a
check trusts only the public key it is handed, never the fingerprint inside the manifest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import av
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from safecity.core.errors import ConfigError, Conflict, EvidenceError, ValidationFailed
from safecity.core.ids import GbCode
from safecity.media.export import Progress, SegmentFile, export_clip, file_sha256

FORMAT_VERSION: Final = 1
MANIFEST_SUFFIX: Final = ".manifest.json"
SIGNING_INFO: Final = b"safecity evidence signing v1"
_KEY_BYTES: Final = 32


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]


class EvidenceClaims(BaseModel):
    """What an evidence file is: everything the manifest states, before it is signed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: Literal[1] = Field(default=FORMAT_VERSION, description="Manifest format")
    camera_id: int = Field(ge=1, description="The camera's device id in this platform")
    camera_gb_id: str = Field(description="The camera's 20-digit GB/T 28181 code")
    requested_start: UtcTime = Field(description="Start of the range the exporter asked for")
    requested_end: UtcTime = Field(description="End of the range the exporter asked for")
    actual_start: UtcTime = Field(description="Time of the clip's first frame (a keyframe)")
    actual_end: UtcTime = Field(description="End of the clip's last frame")
    exporter: str = Field(min_length=1, max_length=128, description="Username that exported")
    exported_at: UtcTime = Field(description="When the export was made")
    reason: str | None = Field(default=None, max_length=1000, description="Why it was exported")
    case_number: str | None = Field(default=None, max_length=128, description="Case reference")
    file_name: str = Field(min_length=1, max_length=255, description="The MP4's file name")
    size_bytes: int = Field(ge=0, description="The MP4's size in bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The MP4's SHA-256, hex")
    frames: int = Field(ge=0, description="Video frames (packets) in the MP4")
    keyframes: int = Field(ge=0, description="Keyframes among them")
    codec: str = Field(min_length=1, max_length=16, description="Video codec (h264, hevc)")

    @field_validator("camera_gb_id")
    @classmethod
    def _gb_code(cls, value: str) -> str:
        return GbCode(value).value


class EvidenceManifest(EvidenceClaims):
    """The claims with the signing key's fingerprint and the signature over both."""

    key_fingerprint: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the raw signing public key, hex"
    )
    signature: str = Field(min_length=1, description="Ed25519 signature, base64")


# Keys


def signing_key(master_key: str) -> Ed25519PrivateKey:
    """The platform's evidence signing key, derived from `security.master_key`."""
    try:
        material = base64.urlsafe_b64decode(master_key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError(_MASTER_KEY_FORMAT) from exc
    if len(material) != _KEY_BYTES:
        raise ConfigError(_MASTER_KEY_FORMAT)
    seed = HKDF(algorithm=SHA256(), length=_KEY_BYTES, salt=None, info=SIGNING_INFO)
    return Ed25519PrivateKey.from_private_bytes(seed.derive(material))


_MASTER_KEY_FORMAT: Final = (
    "security.master_key must be 32 url-safe base64-encoded bytes "
    "(generate one with `safecity admin new-key`)"
)


def public_key_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key in hex: what to hand to courts and partners."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes_raw().hex()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its 64 hex digits."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise ValidationFailed("the public key must be 64 hex digits", field="public_key") from exc
    if len(raw) != _KEY_BYTES:
        raise ValidationFailed("the public key must be 64 hex digits", field="public_key")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: names a key in a manifest."""
    return hashlib.sha256(bytes.fromhex(public_key_hex(key))).hexdigest()


# Signing


def canonical_json(members: Mapping[str, Any]) -> bytes:
    """The signed form: sorted keys, no spaces, UTF-8."""
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sign(claims: EvidenceClaims, key: Ed25519PrivateKey) -> EvidenceManifest:
    """The signed manifest for `claims`."""
    members = {**claims.model_dump(mode="json"), "key_fingerprint": key_fingerprint(key)}
    signature = base64.b64encode(key.sign(canonical_json(members))).decode("ascii")
    return EvidenceManifest.model_validate({**members, "signature": signature})


def manifest_path(mp4: Path) -> Path:
    """Where the manifest of `mp4` lies: `<name>.mp4.manifest.json` beside it."""
    return mp4.with_name(mp4.name + MANIFEST_SUFFIX)


def render(manifest: EvidenceManifest) -> str:
    """The manifest file's text: indented, sorted, UTF-8, ending in a newline."""
    members = manifest.model_dump(mode="json")
    return json.dumps(members, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_evidence(
    segments: Sequence[SegmentFile],
    start: datetime,
    end: datetime,
    out: Path,
    *,
    camera_id: int,
    camera_gb_id: str,
    exporter: str,
    exported_at: datetime,
    key: Ed25519PrivateKey,
    reason: str | None = None,
    case_number: str | None = None,
    progress: Progress | None = None,
) -> EvidenceManifest:
    """Export the range to `out`, then sign and write its manifest beside it; returns the
    manifest. Nothing is left behind when any step fails. Blocking: run it in a thread."""
    try:
        GbCode(camera_gb_id)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="camera_gb_id") from exc
    if manifest_path(out).exists():
        raise Conflict(f"{manifest_path(out)} already exists; evidence is never overwritten")
    info = export_clip(segments, start, end, out, progress)
    try:
        manifest = sign(
            EvidenceClaims(
                camera_id=camera_id,
                camera_gb_id=camera_gb_id,
                requested_start=start,
                requested_end=end,
                actual_start=info.start,
                actual_end=info.end,
                exporter=exporter,
                exported_at=exported_at,
                reason=reason,
                case_number=case_number,
                file_name=out.name,
                size_bytes=info.size_bytes,
                sha256=info.sha256,
                frames=info.frames,
                keyframes=info.keyframes,
                codec=info.codec,
            ),
            key,
        )
        manifest_path(out).write_text(render(manifest), encoding="utf-8")
    except ValidationError as exc:
        out.unlink(missing_ok=True)
        raise ValidationFailed(f"evidence manifest: {_first_error(exc)}") from exc
    except OSError as exc:
        out.unlink(missing_ok=True)
        raise EvidenceError(f"cannot write the manifest of {out}: {exc}") from exc
    return manifest


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


# Verification


class ProblemKind(StrEnum):
    MANIFEST_MISSING = "manifest_missing"
    MANIFEST_UNREADABLE = "manifest_unreadable"
    WRONG_KEY = "wrong_key"
    MANIFEST_ALTERED = "manifest_altered"
    FILE_MISSING = "file_missing"
    FILE_ALTERED = "file_altered"
    MEDIA_UNREADABLE = "media_unreadable"
    FRAME_COUNT = "frame_count"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify`: every problem found, and the manifest when it could be read
    (trust its claims only when `ok`)."""

    file: Path
    manifest_file: Path
    problems: tuple[Problem, ...]
    manifest: EvidenceManifest | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(mp4: Path, manifest: Path | None, public_key: Ed25519PublicKey) -> VerifyReport:
    """Check an evidence package against the trusted `public_key`: the manifest's signature,
    then the file's size, SHA-256 and frame count against the manifest. `manifest` defaults to
    the file beside `mp4`. Reports problems rather than raising."""
    where = manifest or manifest_path(mp4)
    problems: list[Problem] = []
    members = _read_members(where, problems)
    parsed: EvidenceManifest | None = None
    if members is not None:
        problems += _signature_problems(members, public_key)
        try:
            parsed = EvidenceManifest.model_validate(members)
        except ValidationError as exc:
            problems.append(Problem(ProblemKind.MANIFEST_UNREADABLE, _first_error(exc)))
    if not mp4.is_file():
        problems.append(Problem(ProblemKind.FILE_MISSING, f"{mp4} does not exist"))
    elif parsed is not None:
        problems += _file_problems(mp4, parsed)
    return VerifyReport(mp4, where, tuple(problems), parsed)


def _read_members(where: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(ProblemKind.MANIFEST_MISSING, f"no manifest at {where}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(ProblemKind.MANIFEST_UNREADABLE, f"{where}: {exc}"))
        return None
    try:
        members = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(ProblemKind.MANIFEST_UNREADABLE, f"{where}: not JSON: {exc}"))
        return None
    if not isinstance(members, dict):
        problems.append(Problem(ProblemKind.MANIFEST_UNREADABLE, f"{where}: not a JSON object"))
        return None
    return members


def _signature_problems(members: dict[str, Any], trusted: Ed25519PublicKey) -> list[Problem]:
    signed = canonical_json({name: value for name, value in members.items() if name != "signature"})
    signature = _signature_bytes(members)
    if signature is not None and _signed_by(trusted, signature, signed):
        return []
    claimed, expected = members.get("key_fingerprint"), key_fingerprint(trusted)
    if claimed != expected:
        detail = (
            f"the manifest names signing key {claimed}, not the trusted key {expected}, "
            "and its signature does not verify with the trusted key"
        )
        return [Problem(ProblemKind.WRONG_KEY, detail)]
    if signature is None:
        detail = "the manifest has no signature, or one that is not base64"
    else:
        detail = "the signature does not match the manifest: it was changed after signing"
    return [Problem(ProblemKind.MANIFEST_ALTERED, detail)]


def _signature_bytes(members: Mapping[str, Any]) -> bytes | None:
    text = members.get("signature")
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def _signed_by(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _file_problems(mp4: Path, manifest: EvidenceManifest) -> list[Problem]:
    problems: list[Problem] = []
    size = mp4.stat().st_size
    if size != manifest.size_bytes:
        detail = f"{mp4.name} is {size} bytes; the manifest says {manifest.size_bytes}"
        problems.append(Problem(ProblemKind.FILE_ALTERED, detail))
    digest = file_sha256(mp4)
    if digest != manifest.sha256:
        detail = f"{mp4.name} has SHA-256 {digest}; the manifest says {manifest.sha256}"
        problems.append(Problem(ProblemKind.FILE_ALTERED, detail))
    try:
        frames = _count_frames(mp4)
    except (av.FFmpegError, OSError, EvidenceError) as exc:
        problems.append(Problem(ProblemKind.MEDIA_UNREADABLE, f"{mp4.name}: {exc}"))
        return problems
    if frames != manifest.frames:
        detail = f"{mp4.name} holds {frames} video frames; the manifest says {manifest.frames}"
        problems.append(Problem(ProblemKind.FRAME_COUNT, detail))
    return problems


def _count_frames(mp4: Path) -> int:
    """Video packets in the file, by demuxing (no decode)."""
    with av.open(str(mp4), "r") as container:
        if not container.streams.video:
            raise EvidenceError("no video stream")
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)
