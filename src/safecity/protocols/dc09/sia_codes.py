"""SIA DC-03 event blocks inside `SIA-DCS` messages: SIA DC-03-1990.01 (R2003.10) §5, as DC-09
carries them (the account block `#acct|` is stripped by the frame parser).

A block is `N` (new event) then elements separated by `/`: lowercase two-letter modifiers with
a value (`ri` area/partition, `id` user, `ti` hh:mm time, `pi` peripheral id, others ignored)
and two-letter event codes with an optional address (`BA015`) and optional `^text^`. Several
events may share the modifiers before them (`Nri01/BA015/BR016`); several blocks may be joined
by `|`. Tolerated: a missing `/` after a modifier (`Nri1BA015`) and a missing `N`.

The address after an open/close code (OP, CL, ...) is a user number; otherwise a zone. An empty
or all-zero address, area or user decodes to None.
"""

from __future__ import annotations

import re
from typing import Final

from safecity.protocols.dc09.codes import Category, sia_info, sia_is_restore
from safecity.protocols.dc09.errors import Dc09Error, RejectReason
from safecity.protocols.dc09.signal import AlarmSignal, Qualifier, SignalFormat

_TOKEN: Final = re.compile(
    r"(?P<sep>/)"
    r"|(?P<code>[A-Z]{2})(?P<addr>[0-9]{0,9})(?:\^[^^]*\^)?(?=/|$)"
    r"|(?P<mod>[a-z]{2})(?P<value>[0-9:]{0,12})",
    re.ASCII,
)
_CODE: Final = re.compile(r"[A-Z]{2}", re.ASCII)
_MAX_DATA: Final = 512


class _BadBlock(Exception):
    """A block that does not scan; caught inside this module only."""


def _number(text: str) -> int | None:
    return int(text) or None if text else None


def _scan(block: str) -> list[AlarmSignal]:
    signals: list[AlarmSignal] = []
    partition: int | None = None
    user: int | None = None
    pos = 0
    while pos < len(block):
        match = _TOKEN.match(block, pos)
        if match is None:
            raise _BadBlock(block)
        pos = match.end()
        if match["code"] is not None:
            code = match["code"]
            info = sia_info(code)
            number = _number(match["addr"])
            is_user = info.category is Category.OPEN_CLOSE
            signals.append(
                AlarmSignal(
                    format=SignalFormat.SIA,
                    code=code,
                    qualifier=Qualifier.RESTORE if sia_is_restore(code) else Qualifier.NEW,
                    partition=partition,
                    zone=None if is_user else number,
                    user=(number or user) if is_user else user,
                    info=info,
                )
            )
        elif match["mod"] is not None:
            modifier, value = match["mod"], match["value"]
            if modifier in ("ri", "id", "pi") and not value.isdigit() and value:
                raise _BadBlock(block)
            if modifier == "ri":
                partition = _number(value)
            elif modifier == "id":
                user = _number(value)
    if not signals:
        raise _BadBlock(block)
    return signals


def _parse_block(block: str) -> list[AlarmSignal]:
    if block.startswith("N"):
        try:
            return _scan(block[1:])
        except _BadBlock:
            pass  # a code that itself starts with N (NA, NT...) without the N prefix
    return _scan(block)


def parse_sia_data(data: str) -> tuple[AlarmSignal, ...]:
    """Decode the SIA DC-03 events in a data field; Dc09Error(MALFORMED) when there are none."""
    if len(data) > _MAX_DATA:
        raise Dc09Error(RejectReason.MALFORMED, "SIA data field too long")
    signals: list[AlarmSignal] = []
    try:
        for block in data.split("|"):
            if block:
                signals.extend(_parse_block(block))
    except _BadBlock as exc:
        raise Dc09Error(RejectReason.MALFORMED, f"not a SIA event block: {data[:40]!r}") from exc
    if not signals:
        raise Dc09Error(RejectReason.MALFORMED, "no SIA event in the data field")
    return tuple(signals)


def format_sia_data(code: str, zone: int | None, partition: int | None) -> str:
    """`Nri1/BA015`; `zone` is the user number for open/close codes."""
    if _CODE.fullmatch(code) is None:
        raise ValueError("a SIA event code is two capital letters")
    if (zone is not None and not 0 <= zone <= 999_999) or (
        partition is not None and not 0 <= partition <= 999
    ):
        raise ValueError("zone is 0..999999 and partition 0..999")
    area = f"ri{partition}/" if partition is not None else ""
    address = f"{zone:03d}" if zone is not None else ""
    return f"N{area}{code}{address}"
