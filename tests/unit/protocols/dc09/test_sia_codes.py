"""SIA DC-03 event blocks inside SIA-DCS data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.dc09 import (
    Category,
    Dc09Error,
    Qualifier,
    RejectReason,
    SignalFormat,
    format_sia_data,
    parse_sia_data,
)
from safecity.protocols.dc09.codes import SIA_CODES


def test_burglary_in_area_1_zone_15() -> None:
    (signal,) = parse_sia_data("Nri1/BA015")
    assert signal.format is SignalFormat.SIA
    assert (signal.code, signal.qualifier, signal.partition, signal.zone) == (
        "BA",
        Qualifier.NEW,
        1,
        15,
    )
    assert signal.info.category is Category.BURGLARY


def test_events_after_one_area_share_it() -> None:
    alarm, restore = parse_sia_data("Nri01/BA015/BR016")
    assert (alarm.code, alarm.partition, alarm.zone, alarm.qualifier) == ("BA", 1, 15, "new")
    assert (restore.code, restore.partition, restore.zone) == ("BR", 1, 16)
    assert restore.qualifier is Qualifier.RESTORE


def test_event_without_area() -> None:
    (signal,) = parse_sia_data("NBA015")
    assert (signal.partition, signal.zone) == (None, 15)


def test_peripheral_id_and_time_modifiers_are_skipped() -> None:
    (signal,) = parse_sia_data("Nti12:30/pi1/BA01")
    assert (signal.code, signal.zone, signal.partition) == ("BA", 1, None)


def test_closing_carries_a_user_and_is_new() -> None:
    (signal,) = parse_sia_data("Nri2/CL007")
    assert (signal.qualifier, signal.user, signal.zone, signal.partition) == ("new", 7, None, 2)
    assert signal.info.category is Category.OPEN_CLOSE


def test_id_modifier_gives_the_user() -> None:
    (signal,) = parse_sia_data("Nid12/ri1/OP")
    assert (signal.user, signal.partition) == (12, 1)


def test_missing_slash_after_area_is_tolerated() -> None:
    (signal,) = parse_sia_data("Nri1BA015")
    assert (signal.partition, signal.zone) == (1, 15)


def test_code_starting_with_n_without_n_prefix() -> None:
    (signal,) = parse_sia_data("NT01")
    assert (signal.code, signal.zone) == ("NT", 1)


def test_text_after_the_address_is_skipped() -> None:
    (signal,) = parse_sia_data("Nri1/FA003^Kitchen^")
    assert (signal.code, signal.zone) == ("FA", 3)


def test_blocks_joined_by_bar_each_decode() -> None:
    signals = parse_sia_data("Nri1/BA01|Nri2/FA02")
    assert [(s.code, s.partition) for s in signals] == [("BA", 1), ("FA", 2)]


def test_test_report_without_address() -> None:
    (signal,) = parse_sia_data("NRP")
    assert (signal.code, signal.zone) == ("RP", None)


@pytest.mark.parametrize("data", ["", "N", "Nri1", "Nrix/BA01", "N BA01", "NBA01x", "nba01", "N/"])
def test_data_without_a_valid_event_is_malformed(data: str) -> None:
    with pytest.raises(Dc09Error) as caught:
        parse_sia_data(data)
    assert caught.value.reason is RejectReason.MALFORMED


def test_format_writes_area_code_and_three_digit_zone() -> None:
    assert format_sia_data("BA", 15, 1) == "Nri1/BA015"
    assert format_sia_data("RP", None, None) == "NRP"


@settings(max_examples=300)
@given(
    st.sampled_from(sorted(SIA_CODES)) | st.from_regex(r"[A-Z]{2}", fullmatch=True),
    st.none() | st.integers(1, 999_999),
    st.none() | st.integers(1, 999),
)
def test_parse_inverts_format(code: str, zone: int | None, partition: int | None) -> None:
    (signal,) = parse_sia_data(format_sia_data(code, zone, partition))
    assert (signal.code, signal.partition) == (code, partition)
    assert (signal.user if signal.info.category is Category.OPEN_CLOSE else signal.zone) == zone


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_decodes_or_raises_malformed(data: str) -> None:
    reason = RejectReason.MALFORMED
    try:
        parse_sia_data(data)
    except Dc09Error as exc:
        reason = exc.reason
    assert reason is RejectReason.MALFORMED
