"""AES-CBC payload encryption (DC-09-2013 §5.4) and the two key notations."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.protocols.dc09 import (
    AesKey,
    Dc09Error,
    RejectReason,
    decrypt_payload,
    encrypt_payload,
)

from .strategies import FIELD, keys

KEY_HEX = "00112233445566778899AABBCCDDEEFF"


def raw_encrypt(key: bytes, clear: bytes) -> str:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return (encryptor.update(clear) + encryptor.finalize()).hex()


@pytest.mark.parametrize("digits", [32, 48, 64])
def test_hex_key_of_each_size_is_accepted(digits: int) -> None:
    assert AesKey.from_hex("a1" * (digits // 2)).raw == bytes([0xA1]) * (digits // 2)


@pytest.mark.parametrize("text", ["", "00" * 15, "00" * 17, "zz" * 16, " " + "0" * 31])
def test_hex_key_of_wrong_length_or_digits_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="hex"):
        AesKey.from_hex(text)


@pytest.mark.parametrize("text", ["K3yF0rPan3l0002!", "x" * 24, "An0th3rK3yF0rPan3l0003AES256!!!!"])
def test_text_key_of_each_size_is_its_ascii_bytes(text: str) -> None:
    assert AesKey.from_text(text).raw == text.encode()


@pytest.mark.parametrize("text", ["short", "x" * 17, "密" * 16])
def test_text_key_of_wrong_length_or_charset_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ASCII"):
        AesKey.from_text(text)


def test_raw_key_of_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="16, 24 or 32"):
        AesKey(b"x" * 15)


def test_key_repr_does_not_show_the_key() -> None:
    assert KEY_HEX.lower() not in repr(AesKey.from_hex(KEY_HEX)).lower()
    assert "raw" not in repr(AesKey.from_hex(KEY_HEX))


def test_ciphertext_is_uppercase_hex_of_whole_blocks_with_16_to_31_pad_chars() -> None:
    key = AesKey.from_hex(KEY_HEX)
    out = encrypt_payload(key, "#1234|1130 01 015]_01:02:03,04-05-2024", random.Random(3))
    assert out == out.upper()
    assert len(out) % 32 == 0
    clear = (
        Cipher(algorithms.AES(key.raw), modes.CBC(bytes(16))).decryptor().update(bytes.fromhex(out))
    )
    pad = clear[: clear.index(b"|")]
    assert 16 <= len(pad) <= 31
    assert not set(pad) & set(b"|[]")
    assert all(0x20 <= b < 0x7F for b in pad)


def test_empty_data_field_still_follows_a_separator() -> None:
    key = AesKey.from_hex(KEY_HEX)
    out = encrypt_payload(key, "]_01:02:03,04-05-2024", random.Random(3))
    clear = (
        Cipher(algorithms.AES(key.raw), modes.CBC(bytes(16))).decryptor().update(bytes.fromhex(out))
    )
    assert clear.endswith(b"|]_01:02:03,04-05-2024")
    assert 16 <= clear.index(b"|") <= 31


def test_siadc09_style_binary_pad_is_skipped() -> None:
    key = AesKey.from_hex(KEY_HEX)
    text = b"|#1234|NBA1]_10:00:00,01-02-2024"
    pad = (bytes(range(20)) + b"\xfe\x80\x7f\xff" * 4)[: 16 + (-len(text)) % 16]
    clear = pad + text  # any byte but | [ ] may pad, as siadc09 pads
    assert decrypt_payload(key, raw_encrypt(key.raw, clear)) == "#1234|NBA1]_10:00:00,01-02-2024"


def test_pysiaalarm_style_zero_fill_before_bracket_is_skipped() -> None:
    key = AesKey.from_hex(KEY_HEX)
    message = "]_10:00:00,01-02-2024"
    clear = message.zfill(len(message) + 16 - len(message) % 16).encode()
    assert decrypt_payload(key, raw_encrypt(key.raw, clear)) == message


@pytest.mark.parametrize("hex_text", ["", "00", "0" * 31, "g" * 32, "0 " * 16])
def test_ciphertext_that_is_not_whole_hex_blocks_fails_to_decrypt(hex_text: str) -> None:
    with pytest.raises(Dc09Error) as caught:
        decrypt_payload(AesKey.from_hex(KEY_HEX), hex_text)
    assert caught.value.reason is RejectReason.DECRYPT_FAILED


def test_wrong_key_fails_to_decrypt() -> None:
    out = encrypt_payload(AesKey.from_hex(KEY_HEX), "#1234|NBA1]", random.Random(1))
    with pytest.raises(Dc09Error) as caught:
        decrypt_payload(AesKey.from_hex("f" * 32), out)
    assert caught.value.reason is RejectReason.DECRYPT_FAILED


@settings(max_examples=300)
@given(keys, st.text(FIELD.replace("|", ""), max_size=80), st.randoms(use_true_random=False))
def test_decrypt_inverts_encrypt(key: AesKey, data: str, rng: random.Random) -> None:
    for plaintext in (f"{data}]_00:00:00,01-01-2024", f"]{data}"):
        assert decrypt_payload(key, encrypt_payload(key, plaintext, rng)) == plaintext


@settings(max_examples=300)
@given(keys, st.text("0123456789abcdefABCDEF", max_size=128))
def test_any_hex_text_decrypts_or_raises_dc09_error(key: AesKey, hex_text: str) -> None:
    reason = RejectReason.DECRYPT_FAILED
    try:
        decrypt_payload(key, hex_text)
    except Dc09Error as exc:
        reason = exc.reason
    assert reason is RejectReason.DECRYPT_FAILED
