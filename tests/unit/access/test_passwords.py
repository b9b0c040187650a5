"""Argon2id password hashing and the password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from safecity.access.passwords import (
    check_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)
from safecity.core.errors import ValidationFailed


def test_a_hashed_password_verifies() -> None:
    assert verify_password(hash_password("correct horse"), "correct horse")


def test_a_wrong_password_does_not_verify() -> None:
    assert not verify_password(hash_password("correct horse"), "correct hors")


def test_a_hash_is_argon2id_salted_and_never_the_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")

    assert first.startswith("$argon2id$")
    assert first != second
    assert "correct horse" not in first


def test_a_malformed_hash_does_not_verify() -> None:
    assert not verify_password("not a hash", "correct horse")


def test_a_password_shorter_than_eight_characters_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed, match="at least 8 characters") as caught:
        hash_password("short12")

    assert caught.value.field == "password"


def test_a_password_of_exactly_eight_characters_passes_the_policy() -> None:
    check_policy("12345678")


def test_a_hash_made_with_weaker_parameters_needs_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")

    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("correct horse"))


def test_a_rehash_skips_the_policy_for_a_password_already_in_use() -> None:
    assert verify_password(rehash("short"), "short")


def test_the_dummy_hash_matches_no_ordinary_password() -> None:
    assert not verify_password(dummy_hash(), "correct horse")
