"""Our DC-09 codec against a real third-party one, siadc09 (no sockets: it encodes and parses).

Frames siadc09 builds, plain and AES-encrypted (keys given as hex), are accepted by our
receiver and decode to the same code, zone and partition; frames our panel builds are parsed by
siadc09 back to the same content. siadc09 reads SIA and Contact ID addresses as hex numbers
(zone `015` is 0x15 to it), so its numbers are compared as such.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from siadc09 import message as siamessage  # type: ignore[import-untyped]
from siadc09.account import Account  # type: ignore[import-untyped]
from siadc09.xdata import Data  # type: ignore[import-untyped]

from safecity.protocols.dc09 import (
    AccountKey,
    AesKey,
    Dc09Panel,
    Dc09Receiver,
    MessageReceived,
    Token,
)

KEYS_HEX = {
    128: "00112233445566778899aabbccddeeff",
    192: "00112233445566778899aabbccddeeff0011223344556677",
    256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
}
NOW = datetime.now(UTC).replace(microsecond=0)


def siadc09_frame(token: str, data: bytes, key_hex: str | None) -> bytes:
    account = Account(acct=0x1234, rcvr=0x5, pref=0x2, key=key_hex)
    config = {"idtoken": token, "seqno": 77, "data": Data(content=b"#1234|" + data)}
    return bytes(siamessage.EventMessage(account, config=config).encode(timestamp=NOW))


def receive(frame: bytes, key_hex: str | None) -> MessageReceived:
    key = AesKey.from_hex(key_hex) if key_hex is not None else None
    rx = Dc09Receiver(lambda account: AccountKey(key) if account == "1234" else None,
                      rng=random.Random(0))  # fmt: skip
    (event,) = rx.receive_data(frame, NOW + timedelta(seconds=1))
    assert isinstance(event, MessageReceived), event
    ack = siamessage.parse_frame(rx.ack(event, NOW), {None: key.raw} if key else None)
    assert (ack.idtoken, ack.seq, ack.account.acct, ack.encrypted) == ("ACK", 77, 0x1234, bool(key))
    return event


@pytest.mark.parametrize("key_hex", [None, *KEYS_HEX.values()])
def test_siadc09_contact_id_frame_is_received_with_code_zone_and_partition(
    key_hex: str | None,
) -> None:
    event = receive(siadc09_frame("ADM-CID", b"1130 02 015", key_hex), key_hex)
    message = event.message
    assert (message.token, message.sequence, message.receiver, message.line) == (
        Token.ADM_CID,
        77,
        "5",
        "2",
    )
    assert (message.account, message.encrypted, message.timestamp) == (
        "1234",
        key_hex is not None,
        NOW,
    )
    (signal,) = message.signals()
    assert (signal.code, signal.zone, signal.partition, signal.qualifier) == ("130", 15, 2, "new")


@pytest.mark.parametrize("key_hex", [None, *KEYS_HEX.values()])
def test_siadc09_sia_frame_is_received_with_code_zone_and_partition(key_hex: str | None) -> None:
    event = receive(siadc09_frame("SIA-DCS", b"Nri3/FA021", key_hex), key_hex)
    (signal,) = event.message.signals()
    assert (signal.code, signal.zone, signal.partition) == ("FA", 21, 3)


@pytest.mark.parametrize("key_hex", [None, KEYS_HEX[128]])
def test_siadc09_null_poll_is_received(key_hex: str | None) -> None:
    account = Account(acct=0x1234, key=key_hex)
    frame = siamessage.NullMessage(account, timestamp=NOW, seqno=77).encode()
    event = receive(frame, key_hex)
    assert (event.message.token, event.message.data) == (Token.NULL, "")


@pytest.mark.parametrize("key_hex", [None, *KEYS_HEX.values()])
def test_our_panel_frames_parse_in_siadc09_to_the_same_content(key_hex: str | None) -> None:
    key = AesKey.from_hex(key_hex) if key_hex is not None else None
    keys = {None: key.raw} if key is not None else None
    panel = Dc09Panel("ABC123", key=key, receiver="1F", line="3", rng=random.Random(5))

    cid, wire = panel.message(Token.ADM_CID, "3401 04 012", NOW)
    parsed = siamessage.parse_frame(wire, keys)
    assert (parsed.idtoken, parsed.seq, parsed.encrypted, parsed.timestamp) == (
        "ADM-CID",
        cid.sequence,
        key is not None,
        NOW,
    )
    assert (parsed.account.acct, parsed.account.rcvr, parsed.account.pref) == (0xABC123, 0x1F, 3)
    event = parsed.data.event
    assert (event.qualifier, event.code, event.group, event.addr) == ("3", "401", 4, 0x12)

    sia, wire = panel.message(Token.SIA_DCS, "Nri1/BA015", NOW)
    parsed = siamessage.parse_frame(wire, keys)
    assert (parsed.idtoken, parsed.seq) == ("SIA-DCS", sia.sequence)
    (dcs_event,) = parsed.data.blocks[-1].events
    assert (dcs_event.code, dcs_event.addr, dcs_event.modifiers["ri"].value) == ("BA", 0x15, 1)

    _, wire = panel.message(Token.NULL, "", NOW)
    parsed = siamessage.parse_frame(wire, keys)
    assert (parsed.idtoken, parsed.timestamp, parsed.data) == ("NULL", NOW, None)
