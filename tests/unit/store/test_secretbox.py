"""Device credentials at rest: sealed under the master key, opened only with the same key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.core.errors import ConfigError, SafecityError
from safecity.store.secretbox import SecretBox

KEY = SecretBox.new_key()


def test_sealed_secret_opens_to_the_plaintext() -> None:
    box = SecretBox(KEY)

    assert box.open(box.seal("hik12345")) == "hik12345"


@settings(max_examples=25)
@given(st.text())
def test_any_text_round_trips(plaintext: str) -> None:
    box = SecretBox(KEY)

    assert box.open(box.seal(plaintext)) == plaintext


def test_sealed_bytes_do_not_contain_the_plaintext() -> None:
    assert b"hik12345" not in SecretBox(KEY).seal("hik12345")


def test_sealing_twice_gives_different_tokens() -> None:
    box = SecretBox(KEY)

    assert box.seal("same") != box.seal("same")


def test_a_different_key_cannot_open() -> None:
    token = SecretBox(KEY).seal("hik12345")

    with pytest.raises(SafecityError, match="does not open with this master key"):
        SecretBox(SecretBox.new_key()).open(token)


def test_a_tampered_token_does_not_open() -> None:
    box = SecretBox(KEY)
    token = bytearray(box.seal("hik12345"))
    token[-5] ^= 1

    with pytest.raises(SafecityError, match="does not open"):
        box.open(bytes(token))


@pytest.mark.parametrize(
    "key",
    ["", "not-a-key", "x" * 43, "YWJj" * 8, "é" * 44],
    ids=["empty", "words", "unpadded", "24-bytes", "non-ascii"],
)
def test_malformed_master_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ConfigError, match=r"security\.master_key must be 32 url-safe base64"):
        SecretBox(key)


def test_fingerprint_identifies_the_key_without_revealing_it() -> None:
    other = SecretBox.new_key()

    assert SecretBox(KEY).fingerprint == SecretBox(KEY).fingerprint
    assert SecretBox(KEY).fingerprint != SecretBox(other).fingerprint
    assert KEY not in SecretBox(KEY).fingerprint
