"""One decoded alarm signal from a DC-09 data field (SIA DC-05 Contact ID or SIA DC-03).

Contact ID qualifiers (DC-05 §4): 1 new event (or opening), 3 restore (or closing), 6 previous
event still present (status). SIA DC-03 has no qualifier digit: restore codes (BR, FR, AR, YK...)
are `RESTORE`, every other code, OP and CL included, is `NEW`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from safecity.protocols.dc09.codes import CodeInfo


class Qualifier(StrEnum):
    NEW = "new"
    RESTORE = "restore"
    STATUS = "status"


class SignalFormat(StrEnum):
    CONTACT_ID = "contact_id"
    SIA = "sia"


@dataclass(frozen=True)
class AlarmSignal:
    """`zone` and `user` are None where the signal names none (Contact ID `000`, `00`)."""

    format: SignalFormat
    code: str
    qualifier: Qualifier
    partition: int | None
    zone: int | None
    user: int | None
    info: CodeInfo
