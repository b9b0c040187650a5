"""Settings: defaults, the YAML file, SAFECITY_* overrides, and errors that point at the line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safecity.core.errors import ConfigError
from safecity.settings import Settings, load_settings

KEY = "x" * 43 + "="


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test without SAFECITY_* variables from the developer's shell."""
    for name in list(os.environ):
        if name.upper().startswith("SAFECITY_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "safecity.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_when_only_the_master_key_is_given() -> None:
    settings = load_settings(security={"master_key": KEY})

    assert settings.store.url == "sqlite:///var/safecity.db"
    assert settings.store.echo is False
    assert (settings.api.host, settings.api.port, settings.api.page_size_max) == (
        "127.0.0.1",
        8080,
        500,
    )
    assert settings.security.token_ttl_s == 12 * 3600
    assert settings.security.lockout_after == 5
    assert (settings.log.level, settings.log.json_lines) == ("info", True)


def test_master_key_is_kept_secret_in_reprs() -> None:
    settings = load_settings(security={"master_key": KEY})

    assert KEY not in repr(settings)
    assert settings.security.master_key.get_secret_value() == KEY


def test_master_key_is_required() -> None:
    with pytest.raises(ConfigError, match=r"<environment>: security: Field required"):
        load_settings()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"security:\n  master_key: {KEY}\napi:\n  port: 9000\nlog:\n  level: debug\n"
    )

    settings = load_settings(path)

    assert settings.api.port == 9000
    assert settings.log.level == "debug"


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")

    settings = load_settings(path, security={"master_key": KEY})

    assert settings.api.port == 8080


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\napi:\n  host: 0.0.0.0\n  port: 9000\n")
    monkeypatch.setenv("SAFECITY_API__PORT", "7000")

    settings = load_settings(path)

    assert settings.api.port == 7000
    assert settings.api.host == "0.0.0.0"  # the file's other keys in that section stay


def test_environment_alone_can_supply_every_required_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFECITY_SECURITY__MASTER_KEY", KEY)
    monkeypatch.setenv("SAFECITY_LOG__JSON_LINES", "false")

    settings = load_settings()

    assert settings.security.master_key.get_secret_value() == KEY
    assert settings.log.json_lines is False


def test_settings_class_reads_the_environment_with_the_safecity_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFECITY_SECURITY__MASTER_KEY", KEY)
    monkeypatch.setenv("SAFECITY_STORE__URL", "postgresql://u:p@db/safecity")

    assert Settings().store.url == "postgresql://u:p@db/safecity"


def test_bad_value_names_the_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"security:\n  master_key: {KEY}\napi:\n  port: 99999\n",
        name="bad.yaml",
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert str(caught.value).startswith(f"{path}:4: api.port: ")
    assert "less than or equal to 65535" in str(caught.value)


def test_every_bad_field_is_reported_on_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"security:\n  master_key: {KEY}\n  lockout_after: 0\napi:\n  port: -1\n",
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert sorted(str(caught.value).splitlines()) == [
        f"{path}:3: security.lockout_after: Input should be greater than or equal to 1",
        f"{path}:5: api.port: Input should be greater than or equal to 0",
    ]


def test_wrong_type_in_a_nested_field_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\nlog:\n  level: loud\n")

    with pytest.raises(ConfigError, match=r":4: log\.level: Input should be 'debug'"):
        load_settings(path)


def test_unknown_key_in_a_section_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\napi:\n  port: 9000\n  prot: 1\n")

    with pytest.raises(ConfigError, match=r":5: api\.prot: Extra inputs are not permitted"):
        load_settings(path)


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\nvideo:\n  fps: 25\n")

    with pytest.raises(ConfigError, match=r":3: video: Extra inputs are not permitted"):
        load_settings(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\napi:\n  port: 9000: 1\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert str(caught.value).startswith(f"{path}:4: not valid YAML")


def test_top_level_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "- api\n- store\n")

    with pytest.raises(ConfigError, match=r":1: the top level must be a mapping"):
        load_settings(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read"):
        load_settings(path)


def test_bad_environment_value_names_the_variable_and_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFECITY_API__PORT", "http")

    with pytest.raises(ConfigError) as caught:
        load_settings(security={"master_key": KEY})

    assert str(caught.value).startswith(
        "SAFECITY_API__PORT (environment): api.port: Input should be a valid integer"
    )


def test_bad_environment_value_is_not_blamed_on_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, f"security:\n  master_key: {KEY}\napi:\n  port: 9000\n")
    monkeypatch.setenv("SAFECITY_API__PORT", "http")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert str(caught.value).startswith("SAFECITY_API__PORT (environment): api.port: ")
    assert str(path) not in str(caught.value)


def test_section_variable_that_is_not_json_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFECITY_API", "port=9000")

    with pytest.raises(ConfigError, match=r'<environment>: error parsing value for field "api"'):
        load_settings(security={"master_key": KEY})
