"""Evidence packages: export, sign, and verify against the trusted key; every kind of tampering
is reported by name, by the library and by `safecity evidence verify`."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from safecity.core.errors import ConfigError, Conflict, ValidationFailed
from safecity.media.evidence import (
    SIGNING_INFO,
    EvidenceManifest,
    ProblemKind,
    canonical_json,
    key_fingerprint,
    manifest_path,
    parse_public_key,
    public_key_hex,
    signing_key,
    verify,
    write_evidence,
)
from safecity.media.export import SegmentFile
from safecity.store.secretbox import SecretBox

from .segments_fixture import T0, cut_segments, footage_file

MASTER_KEY = "dGhpcnR5LXR3by1ieXRlcy1vZi1tYXN0ZXIta2V5ISE="  # 32 bytes, url-safe base64
CAMERA_GB_ID = "44030000001320000001"
REPO = Path(__file__).resolve().parents[3]


def at(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[SegmentFile]:
    return cut_segments(footage_file(), tmp_path_factory.mktemp("recorded"), every=2).segments


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return signing_key(MASTER_KEY)


@pytest.fixture
def clip(segments: list[SegmentFile], key: Ed25519PrivateKey, tmp_path: Path) -> Path:
    out = tmp_path / "case-2026-0117.mp4"
    write_evidence(
        segments,
        T0 + at(12),
        T0 + at(22),
        out,
        camera_id=7,
        camera_gb_id=CAMERA_GB_ID,
        exporter="alice",
        exported_at=T0 + timedelta(days=1),
        key=key,
        reason="hit and run, Shennan Road",
        case_number="2026-0117",
    )
    return out


def problems(clip: Path, key: Ed25519PrivateKey, manifest: Path | None = None) -> set[ProblemKind]:
    return {p.kind for p in verify(clip, manifest, key.public_key()).problems}


# Keys


def test_the_signing_key_is_derived_from_the_master_key_alone() -> None:
    assert public_key_hex(signing_key(MASTER_KEY)) == public_key_hex(signing_key(MASTER_KEY))
    other = signing_key(SecretBox.new_key())
    assert public_key_hex(other) != public_key_hex(signing_key(MASTER_KEY))
    assert SIGNING_INFO == b"safecity evidence signing v1"


def test_a_public_key_round_trips_through_hex() -> None:
    key = signing_key(MASTER_KEY)
    text = public_key_hex(key)
    assert len(text) == 64
    assert public_key_hex(parse_public_key(text)) == text


def test_a_malformed_master_key_or_public_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="master_key"):
        signing_key("not-a-key")
    with pytest.raises(ValidationFailed, match="64 hex digits"):
        parse_public_key("abcd")


# Writing


def test_the_manifest_lies_beside_the_file_and_describes_it(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    where = manifest_path(clip)
    assert where.name == "case-2026-0117.mp4.manifest.json"
    manifest = EvidenceManifest.model_validate_json(where.read_text(encoding="utf-8"))
    assert manifest.camera_id == 7
    assert manifest.camera_gb_id == CAMERA_GB_ID
    assert (manifest.requested_start, manifest.requested_end) == (T0 + at(12), T0 + at(22))
    assert (manifest.actual_start, manifest.actual_end) == (T0 + at(9.6), T0 + at(22))
    assert (manifest.exporter, manifest.case_number) == ("alice", "2026-0117")
    assert manifest.file_name == clip.name
    assert manifest.size_bytes == clip.stat().st_size
    assert manifest.frames == 155
    assert manifest.codec == "h264"
    assert manifest.key_fingerprint == key_fingerprint(key)


def test_the_signature_covers_the_canonical_json_of_every_other_member(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    members = json.loads(manifest_path(clip).read_text(encoding="utf-8"))
    signature = base64.b64decode(members.pop("signature"))
    message = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(members) == message.encode("utf-8")
    key.public_key().verify(signature, message.encode("utf-8"))  # raises when it does not
    assert members["requested_start"] == "2026-03-01T08:00:12Z"


def test_a_bad_camera_code_is_refused_before_anything_is_written(
    segments: list[SegmentFile], key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    with pytest.raises(ValidationFailed, match="20 digits"):
        write_evidence(
            segments,
            T0 + at(1),
            T0 + at(2),
            out,
            camera_id=7,
            camera_gb_id="4403",
            exporter="alice",
            exported_at=T0,
            key=key,
        )
    assert list(tmp_path.iterdir()) == []


def test_an_existing_manifest_is_never_overwritten(
    segments: list[SegmentFile], key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    manifest_path(out).write_text("{}", encoding="utf-8")
    with pytest.raises(Conflict):
        write_evidence(
            segments,
            T0 + at(1),
            T0 + at(2),
            out,
            camera_id=7,
            camera_gb_id=CAMERA_GB_ID,
            exporter="alice",
            exported_at=T0,
            key=key,
        )
    assert not out.exists()


# Verification


def test_an_untouched_package_verifies(clip: Path, key: Ed25519PrivateKey) -> None:
    report = verify(clip, None, key.public_key())
    assert report.ok, report.problems
    assert report.manifest is not None
    assert report.manifest.frames == 155


def test_one_flipped_byte_in_the_file_is_reported_as_altered(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))

    report = verify(clip, None, key.public_key())
    assert not report.ok
    assert {p.kind for p in report.problems} == {ProblemKind.FILE_ALTERED}
    assert "SHA-256" in str(report.problems[0])


def test_a_truncated_file_is_reported_by_size_and_digest(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    clip.write_bytes(clip.read_bytes()[:-1000])

    report = verify(clip, None, key.public_key())
    altered = [p for p in report.problems if p.kind is ProblemKind.FILE_ALTERED]
    assert len(altered) == 2  # size and SHA-256


def test_an_edited_time_range_breaks_the_signature(clip: Path, key: Ed25519PrivateKey) -> None:
    where = manifest_path(clip)
    members = json.loads(where.read_text(encoding="utf-8"))
    members["requested_start"] = "2026-03-01T08:00:15Z"
    where.write_text(json.dumps(members, indent=2), encoding="utf-8")

    assert problems(clip, key) == {ProblemKind.MANIFEST_ALTERED}


def test_rewritten_layout_of_an_untouched_manifest_still_verifies(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    where = manifest_path(clip)
    members = json.loads(where.read_text(encoding="utf-8"))
    where.write_text(json.dumps(dict(reversed(members.items()))), encoding="utf-8")

    assert problems(clip, key) == set()


def test_another_platforms_key_is_reported_as_the_wrong_key(clip: Path) -> None:
    stranger = signing_key(SecretBox.new_key())

    report = verify(clip, None, stranger.public_key())
    assert [p.kind for p in report.problems] == [ProblemKind.WRONG_KEY]
    assert key_fingerprint(stranger) in report.problems[0].detail


def test_a_manifest_resigned_with_another_key_is_refused(
    clip: Path, key: Ed25519PrivateKey
) -> None:
    where = manifest_path(clip)
    members = json.loads(where.read_text(encoding="utf-8"))
    forger = Ed25519PrivateKey.generate()
    members["frames"] = 150
    members["key_fingerprint"] = key_fingerprint(forger)
    del members["signature"]
    members["signature"] = base64.b64encode(forger.sign(canonical_json(members))).decode()
    where.write_text(json.dumps(members), encoding="utf-8")

    assert ProblemKind.WRONG_KEY in problems(clip, key)  # the key inside is never trusted


def test_a_missing_manifest_is_reported(clip: Path, key: Ed25519PrivateKey) -> None:
    manifest_path(clip).unlink()

    assert problems(clip, key) == {ProblemKind.MANIFEST_MISSING}


def test_a_manifest_given_elsewhere_is_used(
    clip: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere.json"
    manifest_path(clip).rename(moved)

    assert problems(clip, key, moved) == set()


def test_a_manifest_that_is_not_json_is_unreadable(clip: Path, key: Ed25519PrivateKey) -> None:
    manifest_path(clip).write_text("{ not json", encoding="utf-8")

    assert problems(clip, key) == {ProblemKind.MANIFEST_UNREADABLE}


def test_a_missing_file_is_reported(clip: Path, key: Ed25519PrivateKey) -> None:
    clip.unlink()

    assert problems(clip, key) == {ProblemKind.FILE_MISSING}


# Command line


def safecity(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safecity", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "safecity.yaml"
    path.write_text(
        f"store:\n  url: sqlite:///{tmp_path / 'store.db'}\n"
        f"security:\n  master_key: {MASTER_KEY}\n",
        encoding="utf-8",
    )
    return path


def test_cli_public_key_prints_the_derived_key(
    config: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    result = safecity("evidence", "public-key", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == public_key_hex(key)


def test_cli_verify_exits_0_for_an_intact_package_with_a_public_key(
    clip: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    result = safecity(
        "evidence", "verify", str(clip), "--public-key", public_key_hex(key), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "evidence intact" in result.stdout
    assert CAMERA_GB_ID in result.stdout


def test_cli_verify_exits_1_naming_the_problem_for_an_altered_file(
    clip: Path, config: Path, tmp_path: Path
) -> None:
    with clip.open("r+b") as file:
        file.seek(5000)
        byte = file.read(1)
        file.seek(5000)
        file.write(bytes([byte[0] ^ 0xFF]))

    result = safecity("evidence", "verify", str(clip), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "file_altered" in result.stderr
    assert "NOT intact" in result.stderr


def test_cli_verify_without_a_trusted_key_exits_2(clip: Path, tmp_path: Path) -> None:
    result = safecity("evidence", "verify", str(clip), cwd=tmp_path)
    assert result.returncode == 2
    assert "--public-key" in result.stderr
