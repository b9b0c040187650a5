"""DC-09 frames (DC-09-2013 §5.5): wire samples, build/parse round trip, strict checks."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.core.errors import LocalProtocolError
from safecity.protocols.dc09 import (
    AesKey,
    Dc09Error,
    Dc09Message,
    RejectReason,
    Token,
    crc16_arc,
    parse_frame,
    parse_header,
)

from .strategies import keys, messages

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
KEY = AesKey.from_hex("00112233445566778899AABBCCDDEEFF")
SIADC09_DOC_FRAME = b'8C860043"SIA-DCS"9876R579BDFL789ABC#123456A[#123456A|NFA129][M1234567890AB]'
SIADC09_DOC_NULL = (
    b'DE260072"*NULL"0000L0#000[242ff5e1d26993d8ca4a622f7d779a93096ef7ed9b5499dc13de23e1405a5764'
    b"b58737251286f0d81da5134d1eebc238"
)
SIADC09_DOC_KEY = AesKey.from_hex("850cba22f7dd4f033405da83e4c5bae9")


def no_key(_: str) -> AesKey | None:
    return None


def frame_of(body: bytes) -> bytes:
    return b"%04X0%03X%b" % (crc16_arc(body), len(body), body)


def test_contact_id_message_encodes_to_the_reference_frame() -> None:
    message = Dc09Message(
        token=Token.ADM_CID,
        sequence=12,
        receiver="12",
        account="1234",
        data="1130 02 015",
        timestamp=NOW,
    )
    assert message.encode() == (
        b'\n7FDD003E"ADM-CID"0012R12L0#1234[#1234|1130 02 015]_07:08:09,05-06-2024\r'
    )


def test_siadc09_documented_frame_parses_with_xdata() -> None:
    message = parse_frame(SIADC09_DOC_FRAME, no_key)
    assert (message.token, message.sequence, message.receiver, message.line) == (
        Token.SIA_DCS,
        9876,
        "579BDF",
        "789ABC",
    )
    assert (message.account, message.data, message.extended) == (
        "123456A",
        "NFA129",
        ("M1234567890AB",),
    )
    assert (message.timestamp, message.encrypted) == (None, False)
    (signal,) = message.signals()
    assert (signal.code, signal.zone) == ("FA", 129)


def test_siadc09_documented_encrypted_null_decrypts() -> None:
    message = parse_frame(SIADC09_DOC_NULL, lambda account: SIADC09_DOC_KEY)
    assert (message.token, message.account, message.data, message.encrypted) == (
        Token.NULL,
        "000",
        "",
        True,
    )
    assert message.timestamp == datetime(2026, 9, 22, 3, 7, 43, tzinfo=UTC)
    assert message.signals() == ()


def test_nak_sample_parses_with_account_zero() -> None:
    message = parse_frame(frame_of(b'"NAK"0000R0L0A0[]_07:08:09,05-06-2024'), no_key)
    assert (message.token, message.sequence, message.receiver, message.account) == (
        Token.NAK,
        0,
        "0",
        "0",
    )
    assert message.timestamp == NOW


def test_pysiaalarm_nak_with_receiver_after_line_parses() -> None:
    message = parse_frame(frame_of(b'"NAK"0000L0R0A0[]_07:08:09,05-06-2024'), no_key)
    assert (message.token, message.receiver, message.line, message.account) == (
        Token.NAK,
        "0",
        "0",
        "0",
    )


def test_data_without_account_block_is_taken_whole() -> None:
    message = parse_frame(frame_of(b'"ADM-CID"0001L0#1234[1130 02 015]'), no_key)
    assert message.data == "1130 02 015"


def test_timestamp_is_normalised_to_utc_whole_seconds() -> None:
    local = datetime(2024, 5, 6, 15, 8, 9, 999, tzinfo=datetime.now(UTC).astimezone().tzinfo)
    message = Dc09Message(token=Token.NULL, sequence=1, account="123", timestamp=local)
    assert message.timestamp == local.astimezone(UTC).replace(microsecond=0)
    assert message.timestamp is not None
    assert message.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("body", "crc_delta", "length_delta", "reason"),
    [
        (b'"NULL"0001L0#1234[]', 1, 0, RejectReason.BAD_CRC),
        (b'"NULL"0001L0#1234[]', 0, 1, RejectReason.BAD_LENGTH),
        (b'"NULL"0001L0#12[]', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001RNoneL0#1234[]', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"001L0#1234[]', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001L0#1234[]_7:08:09,05-06-2024', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001L0#1234[]_07:08:09,13-06-2024', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001L0#1234[]trailing', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001L0#1234[#12x]', 0, 0, RejectReason.MALFORMED),
        (b'"NULL"0001L0#1234[\x01]', 0, 0, RejectReason.MALFORMED),
        (b'"FOO"0001L0#1234[]', 0, 0, RejectReason.UNSUPPORTED),
        (b'"*NULL"0001L0#1234[00]', 0, 0, RejectReason.UNKNOWN_ACCOUNT),
    ],
)
def test_bad_frames_raise_the_matching_reason(
    body: bytes, crc_delta: int, length_delta: int, reason: RejectReason
) -> None:
    frame = b"%04X0%03X%b" % (
        (crc16_arc(body) + crc_delta) & 0xFFFF,
        len(body) + length_delta,
        body,
    )
    with pytest.raises(Dc09Error) as caught:
        parse_frame(frame, no_key)
    assert caught.value.reason is reason


def test_encrypted_frame_that_does_not_decrypt_is_decrypt_failed() -> None:
    body = b'"*NULL"0001L0#1234[' + b"AB" * 16 + b"]"
    with pytest.raises(Dc09Error) as caught:
        parse_frame(frame_of(body), lambda account: KEY)
    assert caught.value.reason is RejectReason.DECRYPT_FAILED


def test_header_is_readable_without_the_key() -> None:
    wire = Dc09Message(
        token=Token.SIA_DCS, sequence=7, receiver="A1", line="2", account="BEEF",
        data="NBA1", timestamp=NOW, encrypted=True,
    ).encode(KEY, random.Random(0))  # fmt: skip
    header = parse_header(wire[1:-1])
    assert (header.token, header.encrypted, header.sequence) == ("SIA-DCS", True, 7)
    assert (header.receiver, header.line, header.account) == ("A1", "2", "BEEF")


def test_encrypting_needs_key_rng_and_timestamp() -> None:
    message = Dc09Message(token=Token.NULL, sequence=1, account="123", encrypted=True)
    with pytest.raises(LocalProtocolError):
        message.encode(KEY, random.Random(0))


@pytest.mark.parametrize(
    "fields",
    [
        {"sequence": 10000},
        {"account": "12"},
        {"account": "12G4"},
        {"receiver": ""},
        {"line": "1234567"},
        {"data": "a]b"},
        {"extended": ("",)},
        {"timestamp": datetime(2024, 1, 1)},  # noqa: DTZ001 - the naive time is the point
    ],
)
def test_invalid_fields_are_refused(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"token": Token.NULL, "sequence": 1, "account": "123"}
    with pytest.raises(ValueError, match=r"\S"):
        Dc09Message(**(base | fields))  # type: ignore[arg-type]


def test_nak_and_duh_are_never_encrypted() -> None:
    with pytest.raises(ValueError, match="never encrypted"):
        Dc09Message(token=Token.DUH, sequence=1, account="123", timestamp=NOW, encrypted=True)


@settings(max_examples=400)
@given(messages(), keys, st.randoms(use_true_random=False))
def test_parse_inverts_encode(message: Dc09Message, key: AesKey, rng: random.Random) -> None:
    wire = message.encode(key, rng)
    assert wire[:1] == b"\n"
    assert wire[-1:] == b"\r"
    assert parse_frame(wire[1:-1], lambda account: key) == message


@settings(max_examples=300)
@given(messages(encrypted=True), keys, st.randoms(use_true_random=False))
def test_encrypted_frames_hide_the_data(
    message: Dc09Message, key: AesKey, rng: random.Random
) -> None:
    wire = message.encode(key, rng)
    header = parse_header(wire[1:-1])
    assert header.encrypted
    assert set(header.payload) <= set("0123456789ABCDEF")


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_dc09_error(frame: bytes) -> None:
    with contextlib.suppress(Dc09Error):
        parse_frame(frame, lambda account: KEY)


@settings(max_examples=500)
@given(messages(), st.data())
def test_mutated_frames_parse_or_raise_dc09_error(
    message: Dc09Message, data: st.DataObject
) -> None:
    wire = bytearray(message.encode(KEY, random.Random(0))[1:-1])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    body = bytes(wire[8:])
    for frame in (bytes(wire), frame_of(body)):  # the second has a valid CRC and length
        with contextlib.suppress(Dc09Error):
            parse_frame(frame, lambda account: KEY)


@pytest.mark.parametrize(
    ("token", "key_bytes", "encrypted"),
    [
        (token, key_bytes, encrypted)
        for token in Token
        for key_bytes in (16, 24, 32)
        for encrypted in (False, True)
        if not (encrypted and token in (Token.NAK, Token.DUH))  # never encrypted
    ],
)
def test_every_token_round_trips_plain_and_with_each_key_size(
    token: Token, key_bytes: int, encrypted: bool
) -> None:
    key = AesKey(bytes(range(key_bytes)))
    data = {Token.ADM_CID: "1130 02 015", Token.SIA_DCS: "Nri1/BA015"}.get(token, "")
    message = Dc09Message(
        token=token, sequence=9999, receiver="5", line="3", account="ABC123",
        data=data, extended=("Vhttp://verify/1",), timestamp=NOW, encrypted=encrypted,
    )  # fmt: skip
    assert parse_frame(message.encode(key, random.Random(1))[1:-1], lambda a: key) == message


def test_pysiaalarm_literal_none_receiver_in_an_ack_reads_as_no_receiver() -> None:
    message = parse_frame(frame_of(b'"ACK"0001NoneL0#100001[]'), no_key)
    assert (message.token, message.sequence, message.receiver, message.account) == (
        Token.ACK,
        1,
        None,
        "100001",
    )
    assert b"None" not in message.encode()


def test_bytes_and_parse_spell_encode_and_parse_frame_for_plain_messages() -> None:
    message = Dc09Message(token=Token.SIA_DCS, sequence=3, account="123", data="NBA1")
    assert bytes(message) == message.encode()
    assert Dc09Message.parse(bytes(message)[1:-1], no_key) == message
