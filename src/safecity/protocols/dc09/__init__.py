"""SIA DC-09 (ANSI/SIA DC-09-2013/2021) alarm transmission, sans-IO: frames, AES-CBC, Contact ID
(SIA DC-05) and SIA DC-03 event data, and the receiver and panel state machines."""

from safecity.protocols.dc09.codes import (
    Category,
    CodeInfo,
    PriorityClass,
    contact_id_info,
    sia_info,
)
from safecity.protocols.dc09.contact_id import format_contact_id, parse_contact_id
from safecity.protocols.dc09.crc import crc16_arc
from safecity.protocols.dc09.crypto import AesKey, decrypt_payload, encrypt_payload
from safecity.protocols.dc09.errors import Dc09Error, RejectReason
from safecity.protocols.dc09.framing import FrameDecoder
from safecity.protocols.dc09.message import (
    Dc09Message,
    FrameHeader,
    Token,
    format_timestamp,
    parse_frame,
    parse_header,
)
from safecity.protocols.dc09.panel import Dc09Panel, PanelReply
from safecity.protocols.dc09.receiver import (
    AccountKey,
    Dc09Receiver,
    FrameRejected,
    MessageReceived,
)
from safecity.protocols.dc09.response import build_ack, build_duh, build_nak
from safecity.protocols.dc09.sia_codes import format_sia_data, parse_sia_data
from safecity.protocols.dc09.signal import AlarmSignal, Qualifier, SignalFormat

__all__ = [
    "AccountKey",
    "AesKey",
    "AlarmSignal",
    "Category",
    "CodeInfo",
    "Dc09Error",
    "Dc09Message",
    "Dc09Panel",
    "Dc09Receiver",
    "FrameDecoder",
    "FrameHeader",
    "FrameRejected",
    "MessageReceived",
    "PanelReply",
    "PriorityClass",
    "Qualifier",
    "RejectReason",
    "SignalFormat",
    "Token",
    "build_ack",
    "build_duh",
    "build_nak",
    "contact_id_info",
    "crc16_arc",
    "decrypt_payload",
    "encrypt_payload",
    "format_contact_id",
    "format_sia_data",
    "format_timestamp",
    "parse_contact_id",
    "parse_frame",
    "parse_header",
    "parse_sia_data",
    "sia_info",
]
