"""GB/T 28181-2016 Annex D codes: validation, field access, building and serial allocation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.core.ids import (
    SERIAL_MAX,
    GbCode,
    NetworkFlag,
    TypeCode,
    check_centre_code,
    division_name,
    next_free_code,
)

# Real centre codes: Futian station (Shenzhen), Wuhu city, Chaoyang (Beijing), Huangpu (Shanghai).
CENTRES = ["44030401", "34020000", "11010500", "31010100"]

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def digit_string(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


# Known examples from GB/T 28181 deployments


def test_platform_example_parses_into_its_fields() -> None:
    code = GbCode.parse("34020000002000000001")

    assert (code.centre, code.industry, code.type_code, code.network, code.serial) == (
        "34020000",
        "00",
        TypeCode.PLATFORM,
        NetworkFlag.PRIVATE,
        1,
    )


def test_nvr_example_has_type_code_118() -> None:
    assert GbCode.parse("34020000001180000001").type_code == TypeCode.NVR


def test_camera_channel_example_has_type_code_131() -> None:
    assert GbCode.parse("34020000001310000001").type_code == TypeCode.CAMERA


def test_realm_is_the_first_ten_digits() -> None:
    assert GbCode.parse("34020000002000000001").realm == "3402000000"


def test_str_of_a_code_is_its_twenty_digits() -> None:
    assert str(GbCode("44030401001320000042")) == "44030401001320000042"


def test_parse_strips_surrounding_whitespace() -> None:
    assert GbCode.parse("  34020000002000000001\n").value == "34020000002000000001"


def test_codes_order_by_their_digits() -> None:
    low, high = GbCode("34020000001310000001"), GbCode("34020000001310000002")

    assert sorted([high, low]) == [low, high]


# Rejections


@pytest.mark.parametrize("text", ["3402000000200000000", "340200000020000000011", ""])
def test_code_of_wrong_length_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="must be exactly 20 digits"):
        GbCode(text)


@pytest.mark.parametrize(
    "text",
    [
        "3402000000200000000A",
        "34020000-02000000001",
        "3402000000200000000\uff11",  # a fullwidth digit is a Unicode digit, not an ASCII one
        "3402000000200000000\u0661",  # so is an Arabic-Indic one
    ],
)
def test_code_with_a_non_digit_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="must be exactly 20 digits"):
        GbCode(text)


def test_code_under_an_unknown_province_is_rejected() -> None:
    with pytest.raises(ValueError, match="99 is not a GB/T 2260 province"):
        GbCode("99020000002000000001")


@given(st.text(max_size=25).filter(lambda s: not (len(s) == 20 and s.isascii() and s.isdigit())))
def test_anything_but_twenty_ascii_digits_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="20 digits"):
        GbCode(text)


@given(
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=20, max_size=20).filter(
        lambda s: not s.isascii()
    )
)
def test_twenty_unicode_digits_that_are_not_all_ascii_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="20 digits"):
        GbCode(text)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("industry", {"industry": "0"}),
        ("type code", {"type_code": "13"}),
        ("industry", {"industry": "0\uff10"}),
        ("network flag", {"network": "10"}),
        ("serial", {"serial": SERIAL_MAX + 1}),
        ("serial", {"serial": -1}),
    ],
)
def test_build_names_the_part_that_is_out_of_range(field: str, kwargs: dict[str, object]) -> None:
    parts: dict[str, object] = {
        "centre": "44030401",
        "industry": "00",
        "type_code": TypeCode.IPC,
        "network": NetworkFlag.PRIVATE,
        "serial": 1,
    }
    parts.update(kwargs)

    with pytest.raises(ValueError, match=field):
        GbCode.build(**parts)  # type: ignore[arg-type]


# Build and parse


def test_build_lays_out_centre_industry_type_network_serial() -> None:
    code = GbCode.build("44030401", "00", TypeCode.IPC, NetworkFlag.PRIVATE, 7)

    assert code.value == "44030401001320000007"


@given(
    centre=st.sampled_from(CENTRES),
    industry=digit_string(2),
    type_code=digit_string(3),
    network=digits,
    serial=st.integers(min_value=0, max_value=SERIAL_MAX),
)
def test_build_then_parse_gives_back_every_part(
    centre: str, industry: str, type_code: str, network: str, serial: int
) -> None:
    built = GbCode.build(centre, industry, type_code, network, serial)

    parsed = GbCode.parse(str(built))

    assert parsed == built
    assert (parsed.centre, parsed.industry, parsed.type_code, parsed.network, parsed.serial) == (
        centre,
        industry,
        type_code,
        network,
        serial,
    )


# Centre codes


@pytest.mark.parametrize("code", [*CENTRES, "44030000", "44000000", "11000000", "44030400"])
def test_real_centre_code_is_accepted(code: str) -> None:
    assert check_centre_code(code) == code


def test_unit_under_an_empty_city_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="under an empty city level"):
        check_centre_code("44000001")


def test_district_under_an_empty_city_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="under an empty city level"):
        check_centre_code("44000400")


def test_unit_under_an_empty_district_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="under an empty district level"):
        check_centre_code("44030001")


def test_division_missing_from_gb2260_is_rejected() -> None:
    with pytest.raises(ValueError, match="449900 is not a GB/T 2260 division"):
        check_centre_code("44990000")


def test_centre_code_province_must_exist() -> None:
    with pytest.raises(ValueError, match="00 is not a GB/T 2260 province"):
        check_centre_code("00000000")


@pytest.mark.parametrize("code", ["4403040", "440304011", "4403040a", "4403040\uff11", ""])
def test_centre_code_must_be_eight_digits(code: str) -> None:
    with pytest.raises(ValueError, match="must be 8 digits"):
        check_centre_code(code)


def test_division_name_looks_up_gb2260() -> None:
    assert division_name("440304") == "福田区"
    assert division_name("999999") is None


# Serial allocation


def test_next_free_code_starts_at_serial_one() -> None:
    code = next_free_code([], centre="44030401", type_code=TypeCode.IPC)

    assert code.value == "44030401001320000001"


def test_next_free_code_picks_the_lowest_gap() -> None:
    taken = ["44030401001320000001", "44030401001320000002", "44030401001320000004"]

    code = next_free_code(taken, centre="44030401", type_code=TypeCode.IPC)

    assert code.serial == 3


def test_next_free_code_ignores_codes_under_other_prefixes() -> None:
    taken = [
        "44030402001320000001",  # another station
        "44030401001180000001",  # an NVR
        "44030401011320000001",  # another industry
        "44030401001325000001",  # another network
    ]

    code = next_free_code(taken, centre="44030401", type_code=TypeCode.IPC)

    assert code.value == "44030401001320000001"


def test_next_free_code_uses_the_given_industry_and_network() -> None:
    code = next_free_code(
        ["44030401111325000001"],
        centre="44030401",
        type_code=TypeCode.IPC,
        industry="11",
        network=NetworkFlag.PUBLIC_SECURITY,
    )

    assert code.value == "44030401111325000002"


@given(st.sets(st.integers(min_value=1, max_value=40), max_size=30))
def test_next_free_code_returns_the_smallest_serial_not_taken(taken_serials: set[int]) -> None:
    taken = [f"3402000000118000{serial:04d}" for serial in taken_serials]

    code = next_free_code(taken, centre="34020000", type_code=TypeCode.NVR)

    assert code.serial == min(set(range(1, 42)) - taken_serials)


def test_next_free_code_fails_when_every_serial_is_taken() -> None:
    taken = (f"34020000001180{serial:06d}" for serial in range(1, SERIAL_MAX + 1))

    with pytest.raises(ValueError, match="no free serial left under 34020000001180"):
        next_free_code(taken, centre="34020000", type_code=TypeCode.NVR)
