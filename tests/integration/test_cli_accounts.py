"""`safecity import accounts` as an operator uses it: a real process, a real file."""

from __future__ import annotations

from pathlib import Path

from .test_cli import config, safecity

__all__ = ["config"]  # the fixture, shared with the other CLI tests

HEADER = "account,name,org_unit,key_hex,zones\n"


def _root_unit(config: Path, tmp_path: Path) -> None:
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


def test_import_accounts_imports_a_good_file(config: Path, tmp_path: Path) -> None:
    _root_unit(config, tmp_path)
    sheet = tmp_path / "accounts.csv"
    sheet.write_text(
        HEADER + f"A00001,Bank,44030000,{'AB' * 16},1:Door:door_contact\n", encoding="utf-8"
    )

    result = safecity("import", "accounts", str(sheet), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "imported 1 alarm accounts" in result.stdout


def test_import_accounts_names_each_bad_line_and_exits_non_zero(
    config: Path, tmp_path: Path
) -> None:
    _root_unit(config, tmp_path)
    sheet = tmp_path / "accounts.csv"
    sheet.write_text(HEADER + "A00001,Bank,44030000,,\nA00002,Shop,44039999,,\n", "utf-8")

    result = safecity("import", "accounts", str(sheet), "--config", str(config), cwd=tmp_path)

    assert result.returncode == 1
    assert "accounts.csv:3: org_unit: no org unit has centre code '44039999'" in result.stderr
    assert "nothing imported" in result.stderr
