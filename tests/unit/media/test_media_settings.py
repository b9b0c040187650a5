"""The `media` settings section: defaults, group quotas and the backoff bounds."""

from __future__ import annotations

import os

import pytest

from safecity.core.errors import ConfigError
from safecity.settings import load_settings

KEY = "x" * 43 + "="


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SAFECITY_"):
            monkeypatch.delenv(name)


def test_media_defaults_record_one_minute_segments_for_thirty_days() -> None:
    media = load_settings(security={"master_key": KEY}).media

    assert (media.segment_s, media.retention_days, media.ring_s) == (60, 30.0, 30.0)
    assert media.quota_bytes is None
    assert media.group_quotas == {}
    assert media.reconnect_min_s <= media.reconnect_max_s


def test_group_quotas_name_their_cameras() -> None:
    media = load_settings(
        security={"master_key": KEY},
        media={"group_quotas": {"north": {"cameras": [1, 2], "quota_bytes": 1 << 30}}},
    ).media

    assert media.group_quotas["north"].cameras == [1, 2]


def test_a_backoff_floor_above_its_cap_is_refused() -> None:
    with pytest.raises(ConfigError, match="reconnect_min_s"):
        load_settings(
            security={"master_key": KEY}, media={"reconnect_min_s": 10, "reconnect_max_s": 1}
        )


def test_an_unknown_media_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"media\.segment_length"):
        load_settings(security={"master_key": KEY}, media={"segment_length": 5})


def test_the_native_ingest_is_the_default_and_pyav_can_be_chosen() -> None:
    assert load_settings(security={"master_key": KEY}).media.ingest_engine == "native"
    chosen = load_settings(security={"master_key": KEY}, media={"ingest_engine": "pyav"})
    assert chosen.media.ingest_engine == "pyav"
    with pytest.raises(ConfigError, match=r"media\.ingest_engine"):
        load_settings(security={"master_key": KEY}, media={"ingest_engine": "gstreamer"})


def test_ingest_workers_default_to_threads_in_the_platform_and_refuse_a_negative_count() -> None:
    assert load_settings(security={"master_key": KEY}).media.ingest_workers == 0
    with pytest.raises(ConfigError, match=r"media\.ingest_workers"):
        load_settings(security={"master_key": KEY}, media={"ingest_workers": -1})
