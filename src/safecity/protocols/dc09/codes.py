"""One table of alarm event codes: SIA DC-05 (Contact ID) and SIA DC-03 (SIA event codes).

Each code carries its category, the alarm-centre priority class that follows from it, English and
Chinese names, and for Contact ID the matching DC-03 code (the usual DC-05 to DC-03 mapping, e.g.
130-136 to BA, 137/144 to TA, 301 to AT, 602 to RP). Codes missing from the table are still
accepted: they map to `Category.OTHER` with generic names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final


class Category(StrEnum):
    FIRE = "fire"
    MEDICAL = "medical"
    PANIC = "panic"
    DURESS = "duress"
    HOLDUP = "holdup"
    BURGLARY = "burglary"
    TAMPER = "tamper"
    POWER = "power"
    BATTERY = "battery"
    COMMUNICATION = "communication"
    OPEN_CLOSE = "open_close"
    BYPASS = "bypass"
    TEST = "test"
    SYSTEM = "system"
    OTHER = "other"


class PriorityClass(IntEnum):
    """Alarm-centre handling order: life safety first, tests and open/close last."""

    LIFE = 1
    BURGLARY = 2
    TAMPER = 3
    TROUBLE = 4
    INFO = 5


PRIORITY: Final[dict[Category, PriorityClass]] = {
    Category.FIRE: PriorityClass.LIFE,
    Category.MEDICAL: PriorityClass.LIFE,
    Category.PANIC: PriorityClass.LIFE,
    Category.DURESS: PriorityClass.LIFE,
    Category.HOLDUP: PriorityClass.LIFE,
    Category.BURGLARY: PriorityClass.BURGLARY,
    Category.TAMPER: PriorityClass.TAMPER,
    Category.POWER: PriorityClass.TROUBLE,
    Category.BATTERY: PriorityClass.TROUBLE,
    Category.COMMUNICATION: PriorityClass.TROUBLE,
    Category.SYSTEM: PriorityClass.TROUBLE,
    Category.OPEN_CLOSE: PriorityClass.INFO,
    Category.BYPASS: PriorityClass.INFO,
    Category.TEST: PriorityClass.INFO,
    Category.OTHER: PriorityClass.INFO,
}


@dataclass(frozen=True)
class CodeInfo:
    code: str
    category: Category
    priority: PriorityClass
    name_en: str
    name_zh: str
    sia: str | None


C = Category
# Contact ID (SIA DC-05): code, category, English, Chinese, matching SIA DC-03 code.
_CONTACT_ID: Final[tuple[tuple[str, Category, str, str, str | None], ...]] = (
    ("100", C.MEDICAL, "Medical emergency", "医疗求助", "MA"),
    ("101", C.MEDICAL, "Personal emergency", "个人紧急求助", "MA"),
    ("110", C.FIRE, "Fire alarm", "火警", "FA"),
    ("111", C.FIRE, "Smoke detector alarm", "烟感火警", "FA"),
    ("112", C.FIRE, "Combustion alarm", "燃烧火警", "FA"),
    ("113", C.FIRE, "Water flow alarm", "喷淋水流报警", "SA"),
    ("114", C.FIRE, "Heat detector alarm", "温感火警", "KA"),
    ("115", C.FIRE, "Manual call point", "手动火灾报警按钮", "FA"),
    ("116", C.FIRE, "Duct detector alarm", "风管火警", "FA"),
    ("117", C.FIRE, "Flame detector alarm", "火焰探测火警", "FA"),
    ("120", C.PANIC, "Panic alarm", "紧急求助", "PA"),
    ("121", C.DURESS, "Duress", "胁迫报警", "HA"),
    ("122", C.HOLDUP, "Silent hold-up", "无声劫盗报警", "HA"),
    ("123", C.HOLDUP, "Audible hold-up", "有声劫盗报警", "HA"),
    ("124", C.DURESS, "Duress: access granted", "胁迫开门", "HA"),
    ("125", C.DURESS, "Duress: egress granted", "胁迫出门", "HA"),
    ("130", C.BURGLARY, "Burglary", "盗警", "BA"),
    ("131", C.BURGLARY, "Perimeter burglary", "周界盗警", "BA"),
    ("132", C.BURGLARY, "Interior burglary", "室内盗警", "BA"),
    ("133", C.BURGLARY, "24-hour burglary", "24小时防区盗警", "BA"),
    ("134", C.BURGLARY, "Entry/exit burglary", "出入口防区盗警", "BA"),
    ("135", C.BURGLARY, "Day/night burglary", "日夜防区盗警", "BA"),
    ("136", C.BURGLARY, "Outdoor burglary", "室外盗警", "BA"),
    ("137", C.TAMPER, "Tamper", "防拆报警", "TA"),
    ("139", C.BURGLARY, "Intrusion verified", "入侵确认", "BV"),
    ("140", C.BURGLARY, "General alarm", "通用报警", "UA"),
    ("144", C.TAMPER, "Sensor tamper", "探测器防拆报警", "TA"),
    ("145", C.TAMPER, "Expansion module tamper", "扩展模块防拆报警", "TA"),
    ("150", C.OTHER, "24-hour non-burglary", "24小时非盗警防区报警", "UA"),
    ("151", C.FIRE, "Gas detected", "燃气泄漏报警", "GA"),
    ("154", C.OTHER, "Water leakage", "漏水报警", "WA"),
    ("162", C.FIRE, "Carbon monoxide detected", "一氧化碳报警", "GA"),
    ("300", C.SYSTEM, "System trouble", "系统故障", "IA"),
    ("301", C.POWER, "AC power loss", "交流电掉电", "AT"),
    ("302", C.BATTERY, "Low system battery", "电池欠压", "YT"),
    ("305", C.SYSTEM, "System reset", "系统复位", "RR"),
    ("306", C.SYSTEM, "Panel programming changed", "主机编程已更改", "YG"),
    ("309", C.BATTERY, "Battery test failure", "电池测试失败", "YT"),
    ("311", C.BATTERY, "Battery missing", "电池缺失", "YM"),
    ("321", C.SYSTEM, "Bell trouble", "警号故障", "YA"),
    ("333", C.SYSTEM, "Expansion module failure", "扩展模块故障", "ET"),
    ("344", C.COMMUNICATION, "RF receiver jam", "无线信号干扰", "XQ"),
    ("350", C.COMMUNICATION, "Communication trouble", "通信故障", "YC"),
    ("351", C.COMMUNICATION, "Telephone line 1 fault", "电话线1故障", "LT"),
    ("354", C.COMMUNICATION, "Failure to communicate event", "事件上报失败", "YC"),
    ("373", C.SYSTEM, "Fire loop trouble", "火警回路故障", "FT"),
    ("380", C.SYSTEM, "Sensor trouble", "探测器故障", "BT"),
    ("381", C.COMMUNICATION, "Loss of RF supervision", "无线探测器失联", "XS"),
    ("384", C.BATTERY, "RF transmitter low battery", "无线探测器电池欠压", "XT"),
    ("400", C.OPEN_CLOSE, "Open/close", "布防/撤防", "OP"),
    ("401", C.OPEN_CLOSE, "Open/close by user", "用户布防/撤防", "OP"),
    ("402", C.OPEN_CLOSE, "Group open/close", "分组布防/撤防", "OG"),
    ("403", C.OPEN_CLOSE, "Automatic open/close", "自动布防/撤防", "OA"),
    ("406", C.OPEN_CLOSE, "Cancel by user", "用户取消报警", "OC"),
    ("407", C.OPEN_CLOSE, "Remote arm/disarm", "远程布防/撤防", "OQ"),
    ("408", C.OPEN_CLOSE, "Quick arm", "快速布防", "CL"),
    ("409", C.OPEN_CLOSE, "Keyswitch open/close", "钥匙开关布防/撤防", "OS"),
    ("441", C.OPEN_CLOSE, "Armed stay", "留守布防", "NL"),
    ("570", C.BYPASS, "Zone bypass", "防区旁路", "BB"),
    ("572", C.BYPASS, "24-hour zone bypass", "24小时防区旁路", "BB"),
    ("574", C.BYPASS, "Group bypass", "分组旁路", "BB"),
    ("601", C.TEST, "Manual test report", "手动测试", "RX"),
    ("602", C.TEST, "Periodic test report", "定期测试", "RP"),
    ("603", C.TEST, "Periodic RF test", "无线定期测试", "RP"),
    ("607", C.TEST, "Walk test mode", "步测模式", "TS"),
)

# SIA DC-03: code, category, English, Chinese, whether the code reports a restore.
_SIA: Final[tuple[tuple[str, Category, str, str, bool], ...]] = (
    ("BA", C.BURGLARY, "Burglary alarm", "盗警", False),
    ("BR", C.BURGLARY, "Burglary restore", "盗警恢复", True),
    ("BV", C.BURGLARY, "Burglary verified", "盗警确认", False),
    ("BT", C.SYSTEM, "Burglary trouble", "防盗回路故障", False),
    ("BJ", C.SYSTEM, "Burglary trouble restore", "防盗回路故障恢复", True),
    ("BB", C.BYPASS, "Burglary bypass", "防区旁路", False),
    ("BU", C.BYPASS, "Burglary unbypass", "防区旁路取消", True),
    ("FA", C.FIRE, "Fire alarm", "火警", False),
    ("FR", C.FIRE, "Fire restore", "火警恢复", True),
    ("FT", C.SYSTEM, "Fire trouble", "火警回路故障", False),
    ("FJ", C.SYSTEM, "Fire trouble restore", "火警回路故障恢复", True),
    ("GA", C.FIRE, "Gas alarm", "燃气报警", False),
    ("GR", C.FIRE, "Gas alarm restore", "燃气报警恢复", True),
    ("KA", C.FIRE, "Heat alarm", "温感火警", False),
    ("KR", C.FIRE, "Heat alarm restore", "温感火警恢复", True),
    ("SA", C.FIRE, "Sprinkler alarm", "喷淋报警", False),
    ("SR", C.FIRE, "Sprinkler restore", "喷淋报警恢复", True),
    ("MA", C.MEDICAL, "Medical alarm", "医疗求助", False),
    ("MR", C.MEDICAL, "Medical restore", "医疗求助恢复", True),
    ("PA", C.PANIC, "Panic alarm", "紧急求助", False),
    ("PR", C.PANIC, "Panic restore", "紧急求助恢复", True),
    ("HA", C.HOLDUP, "Hold-up alarm", "劫盗报警", False),
    ("HR", C.HOLDUP, "Hold-up restore", "劫盗报警恢复", True),
    ("TA", C.TAMPER, "Tamper alarm", "防拆报警", False),
    ("TR", C.TAMPER, "Tamper restore", "防拆恢复", True),
    ("JA", C.TAMPER, "User code tamper", "密码试探报警", False),
    ("AT", C.POWER, "AC trouble", "交流电掉电", False),
    ("AR", C.POWER, "AC restore", "交流电恢复", True),
    ("YT", C.BATTERY, "System battery trouble", "电池欠压", False),
    ("YR", C.BATTERY, "System battery restore", "电池恢复正常", True),
    ("YM", C.BATTERY, "System battery missing", "电池缺失", False),
    ("XT", C.BATTERY, "Transmitter battery trouble", "无线探测器电池欠压", False),
    ("XR", C.BATTERY, "Transmitter battery restore", "无线探测器电池恢复", True),
    ("YC", C.COMMUNICATION, "Communication fail", "通信故障", False),
    ("YK", C.COMMUNICATION, "Communication restore", "通信恢复", True),
    ("LT", C.COMMUNICATION, "Phone line trouble", "电话线故障", False),
    ("LR", C.COMMUNICATION, "Phone line restore", "电话线恢复", True),
    ("NT", C.COMMUNICATION, "Network trouble", "网络故障", False),
    ("NR", C.COMMUNICATION, "Network restore", "网络恢复", True),
    ("XQ", C.COMMUNICATION, "RF interference", "无线信号干扰", False),
    ("XH", C.COMMUNICATION, "RF interference restore", "无线信号干扰恢复", True),
    ("XS", C.COMMUNICATION, "RF supervision trouble", "无线探测器失联", False),
    ("IA", C.SYSTEM, "Equipment failure", "设备故障", False),
    ("IR", C.SYSTEM, "Equipment failure restore", "设备故障恢复", True),
    ("ET", C.SYSTEM, "Expansion module trouble", "扩展模块故障", False),
    ("ER", C.SYSTEM, "Expansion module restore", "扩展模块恢复", True),
    ("YA", C.SYSTEM, "Bell fault", "警号故障", False),
    ("YH", C.SYSTEM, "Bell restored", "警号恢复", True),
    ("YG", C.SYSTEM, "Parameters changed", "主机参数已更改", False),
    ("RR", C.SYSTEM, "Power up", "主机上电复位", False),
    ("OP", C.OPEN_CLOSE, "Opening", "撤防", False),
    ("CL", C.OPEN_CLOSE, "Closing", "布防", False),
    ("OA", C.OPEN_CLOSE, "Automatic opening", "自动撤防", False),
    ("CA", C.OPEN_CLOSE, "Automatic closing", "自动布防", False),
    ("OG", C.OPEN_CLOSE, "Group opening", "分组撤防", False),
    ("CG", C.OPEN_CLOSE, "Group closing", "分组布防", False),
    ("OQ", C.OPEN_CLOSE, "Remote opening", "远程撤防", False),
    ("CQ", C.OPEN_CLOSE, "Remote closing", "远程布防", False),
    ("OS", C.OPEN_CLOSE, "Keyswitch opening", "钥匙开关撤防", False),
    ("CS", C.OPEN_CLOSE, "Keyswitch closing", "钥匙开关布防", False),
    ("OC", C.OPEN_CLOSE, "Cancel report", "取消报警", False),
    ("OR", C.OPEN_CLOSE, "Disarm from alarm", "报警后撤防", False),
    ("CR", C.OPEN_CLOSE, "Recent closing", "近期布防", False),
    ("NL", C.OPEN_CLOSE, "Perimeter armed", "留守布防", False),
    ("RP", C.TEST, "Automatic test", "定期测试", False),
    ("RX", C.TEST, "Manual test", "手动测试", False),
    ("TS", C.TEST, "Test start", "测试开始", False),
    ("TE", C.TEST, "Test end", "测试结束", False),
    ("UA", C.OTHER, "Untyped zone alarm", "未分类防区报警", False),
    ("UR", C.OTHER, "Untyped zone restore", "未分类防区恢复", True),
    ("WA", C.OTHER, "Water alarm", "漏水报警", False),
    ("WR", C.OTHER, "Water alarm restore", "漏水报警恢复", True),
)
del C

CONTACT_ID_CODES: Final[dict[str, CodeInfo]] = {
    code: CodeInfo(code, category, PRIORITY[category], en, zh, sia)
    for code, category, en, zh, sia in _CONTACT_ID
}
SIA_CODES: Final[dict[str, CodeInfo]] = {
    code: CodeInfo(code, category, PRIORITY[category], en, zh, code)
    for code, category, en, zh, _ in _SIA
}
_SIA_RESTORES: Final = frozenset(code for code, *_, restore in _SIA if restore)
_SIA_NOT_RESTORES: Final = frozenset(code for code, *_, restore in _SIA if not restore)


def contact_id_info(code: str) -> CodeInfo:
    """The entry for a three-digit Contact ID event code; unknown codes map to OTHER."""
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise ValueError(f"a Contact ID event code is three digits, not {code!r}")
    known = CONTACT_ID_CODES.get(code)
    if known is not None:
        return known
    return CodeInfo(
        code,
        Category.OTHER,
        PriorityClass.INFO,
        f"Contact ID event {code}",
        f"事件代码 {code}",
        None,
    )


def sia_info(code: str) -> CodeInfo:
    """The entry for a two-letter SIA DC-03 event code; unknown codes map to OTHER."""
    if len(code) != 2 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise ValueError(f"a SIA event code is two capital letters, not {code!r}")
    known = SIA_CODES.get(code)
    if known is not None:
        return known
    return CodeInfo(
        code, Category.OTHER, PriorityClass.INFO, f"SIA event {code}", f"SIA 事件 {code}", code
    )


def sia_is_restore(code: str) -> bool:
    """Whether a SIA code reports a restore: from the table, else by the trailing `R` rule."""
    if code in _SIA_RESTORES:
        return True
    return code not in _SIA_NOT_RESTORES and code.endswith("R")
