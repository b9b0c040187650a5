"""The receiving centre's state machine (DC-09-2013 §5.5.2): events and replies."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.dc09 import (
    AccountKey,
    AesKey,
    Dc09Message,
    Dc09Receiver,
    FrameRejected,
    MessageReceived,
    RejectReason,
    Token,
    parse_frame,
)

from .strategies import messages

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
KEY = AesKey.from_hex("00112233445566778899AABBCCDDEEFF")
ACCOUNTS = {
    "1234": AccountKey(None),
    "5678": AccountKey(KEY),
    "9ABC": AccountKey(KEY, require_encryption=True),
}


def receiver() -> Dc09Receiver:
    return Dc09Receiver(ACCOUNTS.get, rng=random.Random(7))


def wire(
    account: str = "1234",
    *,
    token: Token = Token.ADM_CID,
    encrypted: bool = False,
    timestamp: datetime | None = NOW,
    key: AesKey = KEY,
) -> bytes:
    data = {Token.ADM_CID: "1130 02 015", Token.SIA_DCS: "Nri1/BA015"}.get(token, "")
    return Dc09Message(
        token=token, sequence=42, receiver="7", line="2", account=account, data=data,
        timestamp=timestamp, encrypted=encrypted,
    ).encode(key, random.Random(1))  # fmt: skip


def only(events: list[MessageReceived | FrameRejected]) -> MessageReceived | FrameRejected:
    assert len(events) == 1, events
    return events[0]


def rejected(data: bytes, now: datetime = NOW) -> FrameRejected:
    event = only(receiver().receive_data(data, now))
    assert isinstance(event, FrameRejected)
    return event


def test_plain_message_is_received_and_acked_echoing_its_fields() -> None:
    rx = receiver()
    event = only(rx.receive_data(wire(), NOW))
    assert isinstance(event, MessageReceived)
    assert event.raw == wire()[1:-1]
    ack = rx.ack(event, NOW)
    assert ack == b'\n58DD0014"ACK"0042R7L2#1234[]\r'


def test_encrypted_message_gets_an_encrypted_ack_with_timestamp() -> None:
    rx = receiver()
    event = only(rx.receive_data(wire("5678", encrypted=True), NOW))
    assert isinstance(event, MessageReceived)
    assert event.message.signals()[0].code == "130"
    ack = rx.ack(event, NOW + timedelta(seconds=1))
    assert b'"*ACK"0042R7L2#5678[' in ack
    reply = parse_frame(ack[1:-1], lambda account: KEY)
    assert (reply.token, reply.sequence, reply.account, reply.encrypted) == (
        Token.ACK,
        42,
        "5678",
        True,
    )
    assert reply.timestamp == NOW + timedelta(seconds=1)


def test_unknown_account_gets_duh() -> None:
    event = rejected(wire("FFFF"))
    assert (event.reason, event.account) == (RejectReason.UNKNOWN_ACCOUNT, "FFFF")
    assert event.reply == b'\nB3050014"DUH"0042R7L2#FFFF[]\r'


def test_out_of_window_encrypted_message_gets_nak_carrying_now() -> None:
    event = rejected(wire("5678", encrypted=True, timestamp=NOW - timedelta(seconds=41)))
    assert event.reason is RejectReason.OUT_OF_WINDOW
    assert event.reply is not None
    nak = parse_frame(event.reply[1:-1], lambda account: None)
    assert (nak.token, nak.sequence, nak.account, nak.timestamp) == (Token.NAK, 0, "0", NOW)
    assert event.reply[9:] == b'"NAK"0000R0L0A0[]_07:08:09,05-06-2024\r'


@pytest.mark.parametrize("offset", [-40, 0, 20])
def test_encrypted_message_at_the_window_edges_is_received(offset: int) -> None:
    data = wire("5678", encrypted=True, timestamp=NOW + timedelta(seconds=offset))
    assert isinstance(only(receiver().receive_data(data, NOW)), MessageReceived)


def test_future_encrypted_message_beyond_the_window_gets_nak() -> None:
    event = rejected(wire("5678", encrypted=True, timestamp=NOW + timedelta(seconds=21)))
    assert event.reason is RejectReason.OUT_OF_WINDOW


def test_window_is_configurable() -> None:
    rx = Dc09Receiver(ACCOUNTS.get, window_past=timedelta(minutes=5), rng=random.Random(0))
    data = wire("5678", encrypted=True, timestamp=NOW - timedelta(minutes=4))
    assert isinstance(only(rx.receive_data(data, NOW)), MessageReceived)


def test_plain_message_with_old_timestamp_is_still_received() -> None:
    data = wire("1234", timestamp=NOW - timedelta(days=3))
    assert isinstance(only(receiver().receive_data(data, NOW)), MessageReceived)


def test_bad_crc_is_rejected_without_reply() -> None:
    good = wire()
    bad = good[:1] + (b"0000" if good[1:5] != b"0000" else b"1111") + good[5:]
    event = rejected(bad)
    assert (event.reason, event.reply) == (RejectReason.BAD_CRC, None)


def test_malformed_frame_is_rejected_without_reply() -> None:
    event = rejected(b"\nhello\r")
    assert (event.reason, event.reply, event.raw) == (RejectReason.MALFORMED, None, b"hello")


def test_plaintext_for_an_account_requiring_encryption_gets_duh() -> None:
    event = rejected(wire("9ABC"))
    assert event.reason is RejectReason.NOT_ENCRYPTED
    assert event.reply is not None
    assert b'"DUH"0042R7L2#9ABC[]' in event.reply


def test_encrypted_message_for_an_account_without_key_gets_duh() -> None:
    event = rejected(wire("1234", encrypted=True))
    assert (event.reason, event.account) == (RejectReason.UNSUPPORTED, "1234")
    assert event.reply is not None


def test_message_encrypted_with_the_wrong_key_gets_duh() -> None:
    event = rejected(wire("5678", encrypted=True, key=AesKey(b"k" * 16)))
    assert event.reason is RejectReason.DECRYPT_FAILED
    assert event.reply is not None
    assert b'"DUH"' in event.reply


@pytest.mark.parametrize("token", [Token.ACK, Token.RSP, Token.NAK])
def test_reply_tokens_sent_to_the_receiver_get_duh(token: Token) -> None:
    event = rejected(wire("1234", token=token))
    assert event.reason is RejectReason.UNSUPPORTED
    assert event.reply is not None


def test_null_poll_is_received() -> None:
    event = only(receiver().receive_data(wire("5678", token=Token.NULL, encrypted=True), NOW))
    assert isinstance(event, MessageReceived)
    assert event.message.token is Token.NULL


def test_oversize_junk_is_reported_without_reply() -> None:
    events = receiver().receive_data(b"\n" + b"A" * 2000, NOW)
    assert [(e.reason, e.reply) for e in events if isinstance(e, FrameRejected)] == [
        (RejectReason.OVERSIZE, None)
    ]


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=300), max_size=4))
def test_any_bytes_yield_only_events(chunks: list[bytes]) -> None:
    rx = receiver()
    for chunk in chunks:
        for event in rx.receive_data(chunk, NOW):
            assert isinstance(event, MessageReceived | FrameRejected)


@settings(max_examples=300)
@given(
    st.lists(messages(), min_size=1, max_size=5),
    st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), min_size=6, max_size=6),
    st.data(),
)
def test_any_split_of_a_stream_with_garbage_yields_the_same_messages(
    sent: list[Dc09Message], junk: list[bytes], data: st.DataObject
) -> None:
    frames = [m.encode(KEY, random.Random(0)) for m in sent]
    stream = b"".join(j + f for j, f in zip(junk, frames, strict=False)) + junk[-1]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    accounts = lambda account: AccountKey(KEY)  # noqa: E731 - every account is known here
    rx = Dc09Receiver(accounts, window_past=timedelta(days=10**7), rng=random.Random(0))
    seen: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        for event in rx.receive_data(stream[start:end], NOW):
            seen.append(event.raw)
    assert seen == [f[1:-1] for f in frames]
