"""The command line as an operator uses it: real processes, real files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from safecity.store.secretbox import SecretBox


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
        f"security:\n  master_key: {SecretBox.new_key()}\n",
        encoding="utf-8",
    )
    return path


def test_serve_with_a_bad_config_exits_non_zero_naming_file_line_field_and_reason(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "store:\n  url: sqlite:///x.db\napi:\n  port: 70000\nsecurity:\n  master_key: k\n",
        encoding="utf-8",
    )
    result = safecity("serve", "--config", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert f"{bad}:4: api.port:" in result.stderr
    assert "less than or equal to 65535" in result.stderr


def test_serve_with_an_unknown_key_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("security:\n  master_key: k\n  colour: red\n", encoding="utf-8")
    result = safecity("serve", "--config", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert f"{bad}:3: security.colour: Extra inputs are not permitted" in result.stderr


def _seed_audited_changes(config: Path, tmp_path: Path) -> None:
    result = safecity(
        "admin",
        "create-root-unit",
        "--name",
        "深圳市公安局",
        "--centre-code",
        "44030000",
        "--config",
        str(config),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    for name in ("alice", "bob", "carol"):
        result = safecity(
            "admin",
            "create-user",
            "--username",
            name,
            "--org-unit",
            "44030000",
            "--role",
            "viewer",
            "--password",
            "correct horse battery",
            "--config",
            str(config),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr


def test_audit_verify_passes_on_an_untouched_chain(config: Path, tmp_path: Path) -> None:
    _seed_audited_changes(config, tmp_path)
    result = safecity("audit", "verify", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact: 4 records" in result.stdout


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE audit_records SET actor = 'mallory' WHERE seq = 2", "record 2"),
        ("DELETE FROM audit_records WHERE seq = 3", "record 3"),
        ("DELETE FROM audit_records WHERE seq = 4", "record 4"),
        (
            "UPDATE audit_records SET detail = (SELECT detail FROM audit_records WHERE seq = 3)"
            " WHERE seq = 2",
            "record 2",
        ),
    ],
    ids=["altered", "removed-middle", "removed-last", "reordered"],
)
def test_audit_verify_names_the_first_bad_record(
    config: Path, tmp_path: Path, tamper: str, expected: str
) -> None:
    _seed_audited_changes(config, tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        connection.execute(tamper)
    result = safecity("audit", "verify", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "audit chain BROKEN" in result.stderr
    assert expected in result.stderr


def test_audit_verify_detects_two_records_swapped_whole(config: Path, tmp_path: Path) -> None:
    _seed_audited_changes(config, tmp_path)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        connection.execute("UPDATE audit_records SET seq = -1 WHERE seq = 2")
        connection.execute("UPDATE audit_records SET seq = 2 WHERE seq = 3")
        connection.execute("UPDATE audit_records SET seq = 3 WHERE seq = -1")
    result = safecity("audit", "verify", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "record 2" in result.stderr
