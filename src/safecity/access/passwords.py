"""Password hashing with Argon2id (argon2-cffi) and the password policy."""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from safecity.core.errors import ValidationFailed

MIN_LENGTH: Final = 8
_HASHER: Final = PasswordHasher()
# Verified against when the user does not exist, so both paths cost one Argon2 run.
DUMMY_HASH: Final = _HASHER.hash("not a real password, used to equalise timing")


def check_policy(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_LENGTH} characters", field="password"
        )
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_policy(password))


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
