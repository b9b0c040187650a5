"""Contact ID (SIA DC-05) event fields inside ADM-CID data."""

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
    format_contact_id,
    parse_contact_id,
)


def test_new_burglary_in_partition_2_zone_15() -> None:
    signal = parse_contact_id("1130 02 015")
    assert signal.format is SignalFormat.CONTACT_ID
    assert (signal.code, signal.qualifier) == ("130", Qualifier.NEW)
    assert (signal.partition, signal.zone, signal.user) == (2, 15, None)
    assert signal.info.category is Category.BURGLARY


def test_spaces_are_optional() -> None:
    assert parse_contact_id("113002015") == parse_contact_id("1130 02 015")


@pytest.mark.parametrize(("digit", "qualifier"), [("1", "new"), ("3", "restore"), ("6", "status")])
def test_qualifier_digit_maps_to_qualifier(digit: str, qualifier: str) -> None:
    assert parse_contact_id(f"{digit}602 00 000").qualifier == qualifier


def test_open_close_codes_carry_a_user_not_a_zone() -> None:
    signal = parse_contact_id("3401 01 007")
    assert (signal.qualifier, signal.zone, signal.user) == (Qualifier.RESTORE, None, 7)


def test_zero_partition_and_zone_decode_to_none() -> None:
    signal = parse_contact_id("1602 00 000")
    assert (signal.partition, signal.zone, signal.user) == (None, None, None)


@pytest.mark.parametrize(
    "data", ["", "1130 02 01", "2130 02 015", "1130-02-015", "1130 02 015 ", "113O 02 015"]
)
def test_anything_else_is_malformed(data: str) -> None:
    with pytest.raises(Dc09Error) as caught:
        parse_contact_id(data)
    assert caught.value.reason is RejectReason.MALFORMED


def test_format_writes_the_spaced_form() -> None:
    assert format_contact_id(1, "130", 2, 15) == "1130 02 015"


@pytest.mark.parametrize(
    "args", [(2, "130", 1, 1), (1, "13", 1, 1), (1, "130", 100, 1), (1, "130", 1, 1000)]
)
def test_format_refuses_out_of_range_fields(args: tuple[int, str, int, int]) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        format_contact_id(*args)


@settings(max_examples=300)
@given(
    st.sampled_from([1, 3, 6]),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
    st.integers(1, 99),
    st.integers(1, 999),
)
def test_parse_inverts_format(qualifier: int, code: str, partition: int, zone: int) -> None:
    signal = parse_contact_id(format_contact_id(qualifier, code, partition, zone))
    assert (signal.code, signal.partition) == (code, partition)
    assert (signal.zone if signal.user is None else signal.user) == zone
