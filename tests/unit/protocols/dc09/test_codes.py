"""The event code table: SIA DC-05 Contact ID and SIA DC-03 codes, categories, names."""

from __future__ import annotations

import pytest

from safecity.protocols.dc09 import Category, PriorityClass, contact_id_info, sia_info
from safecity.protocols.dc09.codes import CONTACT_ID_CODES, SIA_CODES, sia_is_restore

DC09_MD_CONTACT_ID = [
    "100",
    "110",
    "111",
    "117",
    "120",
    "121",
    "122",
    "123",
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "144",
    "301",
    "302",
    "305",
    "344",
    "350",
    "401",
    "403",
    "406",
    "570",
    "602",
]
DC09_MD_SIA = [
    "BA",
    "BR",
    "FA",
    "FR",
    "PA",
    "PR",
    "HA",
    "HR",
    "TA",
    "TR",
    "AT",
    "AR",
    "YT",
    "YR",
    "OP",
    "CL",
    "RP",
    "BB",
    "BU",
]


@pytest.mark.parametrize("code", DC09_MD_CONTACT_ID)
def test_every_contact_id_code_of_the_notes_is_in_the_table(code: str) -> None:
    assert code in CONTACT_ID_CODES


@pytest.mark.parametrize("code", DC09_MD_SIA)
def test_every_sia_code_of_the_notes_is_in_the_table(code: str) -> None:
    assert code in SIA_CODES


@pytest.mark.parametrize(
    ("code", "category", "priority", "zh", "sia"),
    [
        ("130", Category.BURGLARY, PriorityClass.BURGLARY, "盗警", "BA"),
        ("110", Category.FIRE, PriorityClass.LIFE, "火警", "FA"),
        ("120", Category.PANIC, PriorityClass.LIFE, "紧急求助", "PA"),
        ("121", Category.DURESS, PriorityClass.LIFE, "胁迫报警", "HA"),
        ("122", Category.HOLDUP, PriorityClass.LIFE, "无声劫盗报警", "HA"),
        ("137", Category.TAMPER, PriorityClass.TAMPER, "防拆报警", "TA"),
        ("301", Category.POWER, PriorityClass.TROUBLE, "交流电掉电", "AT"),
        ("302", Category.BATTERY, PriorityClass.TROUBLE, "电池欠压", "YT"),
        ("350", Category.COMMUNICATION, PriorityClass.TROUBLE, "通信故障", "YC"),
        ("401", Category.OPEN_CLOSE, PriorityClass.INFO, "用户布防/撤防", "OP"),
        ("570", Category.BYPASS, PriorityClass.INFO, "防区旁路", "BB"),
        ("602", Category.TEST, PriorityClass.INFO, "定期测试", "RP"),
    ],
)
def test_contact_id_code_has_category_priority_chinese_name_and_sia_code(
    code: str, category: Category, priority: PriorityClass, zh: str, sia: str
) -> None:
    info = contact_id_info(code)
    assert (info.category, info.priority, info.name_zh, info.sia) == (category, priority, zh, sia)


@pytest.mark.parametrize(
    ("code", "category", "zh"),
    [
        ("BA", Category.BURGLARY, "盗警"),
        ("FA", Category.FIRE, "火警"),
        ("PA", Category.PANIC, "紧急求助"),
        ("TA", Category.TAMPER, "防拆报警"),
        ("AT", Category.POWER, "交流电掉电"),
        ("YT", Category.BATTERY, "电池欠压"),
        ("YC", Category.COMMUNICATION, "通信故障"),
        ("CL", Category.OPEN_CLOSE, "布防"),
        ("OP", Category.OPEN_CLOSE, "撤防"),
        ("RP", Category.TEST, "定期测试"),
    ],
)
def test_sia_code_has_category_and_chinese_name(code: str, category: Category, zh: str) -> None:
    info = sia_info(code)
    assert (info.category, info.name_zh, info.sia) == (category, zh, code)


def test_unknown_contact_id_code_is_other_info_with_a_generic_name() -> None:
    info = contact_id_info("999")
    assert (info.category, info.priority, info.sia) == (Category.OTHER, PriorityClass.INFO, None)
    assert "999" in info.name_en
    assert "999" in info.name_zh


def test_unknown_sia_code_is_other_info() -> None:
    info = sia_info("QZ")
    assert (info.category, info.priority) == (Category.OTHER, PriorityClass.INFO)


@pytest.mark.parametrize("code", ["13", "1300", "abc", "١٢٣"])
def test_contact_id_code_that_is_not_three_digits_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="three digits"):
        contact_id_info(code)


@pytest.mark.parametrize("code", ["B", "ba", "B1", "BAR"])
def test_sia_code_that_is_not_two_capitals_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="two capital"):
        sia_info(code)


@pytest.mark.parametrize("code", ["BR", "FR", "PR", "HR", "TR", "YR", "AR", "YK", "BU", "QR"])
def test_restore_codes_are_restores(code: str) -> None:
    assert sia_is_restore(code)


@pytest.mark.parametrize("code", ["BA", "OP", "CL", "RR", "OR", "CR", "RP"])
def test_alarm_open_close_and_power_up_codes_are_not_restores(code: str) -> None:
    assert not sia_is_restore(code)


def test_priority_follows_category_throughout_the_table() -> None:
    life = {Category.FIRE, Category.MEDICAL, Category.PANIC, Category.DURESS, Category.HOLDUP}
    for info in [*CONTACT_ID_CODES.values(), *SIA_CODES.values()]:
        assert (info.priority is PriorityClass.LIFE) == (info.category in life)


def test_contact_id_sia_mapping_names_codes_in_the_sia_table() -> None:
    for info in CONTACT_ID_CODES.values():
        assert info.sia is None or info.sia in SIA_CODES, info
