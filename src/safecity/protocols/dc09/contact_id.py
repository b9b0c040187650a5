"""Contact ID events inside `ADM-CID` messages: SIA DC-05-1999.09 §4, as carried by DC-09.

DC-09 carries `QEEE GG ZZZ` (qualifier, event, group/partition, zone or user) without the
account, message type and checksum digits of the telephone format. Spaces are optional on input.
The ZZZ field is a user number for open/close events (400-409) and a zone number otherwise; the
all-zero group `00` and zone/user `000` mean "none" and decode to None.
"""

from __future__ import annotations

import re
from typing import Final

from safecity.protocols.dc09.codes import contact_id_info
from safecity.protocols.dc09.errors import Dc09Error, RejectReason
from safecity.protocols.dc09.signal import AlarmSignal, Qualifier, SignalFormat

_EVENT: Final = re.compile(r"([136])([0-9]{3}) ?([0-9]{2}) ?([0-9]{3})", re.ASCII)
QUALIFIERS: Final = {"1": Qualifier.NEW, "3": Qualifier.RESTORE, "6": Qualifier.STATUS}
USER_CODES: Final = frozenset(f"{n}" for n in range(400, 410))


def parse_contact_id(data: str) -> AlarmSignal:
    """Decode `1130 02 015` (or `113002015`); Dc09Error(MALFORMED) for anything else."""
    match = _EVENT.fullmatch(data)
    if match is None:
        raise Dc09Error(RejectReason.MALFORMED, f"not a Contact ID event: {data[:40]!r}")
    qualifier, code, group, number = match.groups()
    partition = int(group) or None
    value = int(number) or None
    is_user = code in USER_CODES
    return AlarmSignal(
        format=SignalFormat.CONTACT_ID,
        code=code,
        qualifier=QUALIFIERS[qualifier],
        partition=partition,
        zone=None if is_user else value,
        user=value if is_user else None,
        info=contact_id_info(code),
    )


def format_contact_id(qualifier_digit: int, code: str, partition: int, zone: int) -> str:
    """`1130 02 015`: `zone` is the user number for open/close codes."""
    if qualifier_digit not in (1, 3, 6):
        raise ValueError("the Contact ID qualifier is 1, 3 or 6")
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise ValueError("a Contact ID event code is three digits")
    if not 0 <= partition <= 99 or not 0 <= zone <= 999:
        raise ValueError("partition is 0..99 and zone 0..999")
    return f"{qualifier_digit}{code} {partition:02d} {zone:03d}"
