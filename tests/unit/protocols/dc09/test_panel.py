"""The panel (transmitter) side: numbering, stamping, encryption, reading replies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from safecity.protocols.dc09 import (
    AccountKey,
    AesKey,
    Dc09Panel,
    Dc09Receiver,
    MessageReceived,
    PanelReply,
    Token,
    build_duh,
    build_nak,
    crc16_arc,
    parse_frame,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
KEY = AesKey.from_text("K3yF0rPan3l0002!")


def panel(key: AesKey | None = KEY, first: int = 1) -> Dc09Panel:
    return Dc09Panel("1234", key=key, receiver="9", line="1", rng=random.Random(3),
                     first_sequence=first)  # fmt: skip


def test_messages_are_numbered_from_first_sequence_and_wrap_to_one() -> None:
    p = panel(first=9998)
    sequences = [p.message(Token.NULL, "", NOW)[0].sequence for _ in range(3)]
    assert sequences == [9998, 9999, 1]


def test_message_is_encrypted_iff_the_panel_has_a_key_and_always_stamped() -> None:
    secret, wire = panel().message(Token.ADM_CID, "1130 01 003", NOW)
    plain, plain_wire = panel(None).message(Token.ADM_CID, "1130 01 003", NOW)
    assert (secret.encrypted, plain.encrypted) == (True, False)
    assert secret.timestamp == plain.timestamp == NOW.replace(microsecond=0)
    assert b'"*ADM-CID"0001R9L1#1234[' in wire
    assert b"[#1234|1130 01 003]_07:08:09,05-06-2024\r" in plain_wire
    assert parse_frame(wire[1:-1], lambda account: KEY) == secret


def test_retransmission_keeps_sequence_payload_and_timestamp() -> None:
    p = panel()
    message, first = p.message(Token.SIA_DCS, "Nri1/BA015", NOW)
    again = p.retransmission(message, NOW + timedelta(seconds=30))
    assert parse_frame(again[1:-1], lambda account: KEY) == message
    assert parse_frame(first[1:-1], lambda account: KEY) == message


def test_panel_reads_ack_nak_and_duh_from_a_receiver() -> None:
    p = panel()
    rx = Dc09Receiver(lambda account: AccountKey(KEY), rng=random.Random(0))
    message, wire = p.message(Token.ADM_CID, "1130 01 003", NOW)
    (event,) = rx.receive_data(wire, NOW)
    assert isinstance(event, MessageReceived)
    later = NOW + timedelta(seconds=2)
    replies = p.receive_data(rx.ack(event, later) + build_nak(later) + build_duh(message))
    assert replies == [
        PanelReply(Token.ACK, 1, "1234", later.replace(microsecond=0)),
        PanelReply(Token.NAK, 0, "0", later.replace(microsecond=0)),
        PanelReply(Token.DUH, 1, "1234", None),
    ]


def test_panel_reads_pysiaalarm_style_encrypted_ack_split_after_garbage() -> None:
    clear = "]_07:08:09,05-06-2024".zfill(32).encode()  # pysiaalarm pads with "0", no "|"
    encryptor = Cipher(algorithms.AES(KEY.raw), modes.CBC(bytes(16))).encryptor()
    body = (
        b'"*ACK"0001R9L1#1234['
        + (encryptor.update(clear) + encryptor.finalize()).hex().upper().encode()
    )
    frame = b"\x00garbage\n\r\n%04X0%03X%b\r" % (crc16_arc(body), len(body), body)
    p = panel()
    assert p.receive_data(frame[:20]) == []
    assert p.receive_data(frame[20:]) == [
        PanelReply(Token.ACK, 1, "1234", NOW.replace(microsecond=0))
    ]
