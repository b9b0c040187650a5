"""Password hashing with Argon2id (argon2-cffi, its default parameters) and the password policy.

Hashing costs tens of milliseconds of CPU on purpose; the services call these functions through
`asyncio.to_thread` (argon2-cffi releases the GIL) so sign-ins never stall the event loop.
"""

from __future__ import annotations

import functools
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from safecity.core.errors import ValidationFailed

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 1000
_HASHER: Final = PasswordHasher()


def check_policy(password: str) -> None:
    """Raise ValidationFailed(field="password") unless the password may be set."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_LENGTH} characters", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            f"a password may have at most {MAX_LENGTH} characters", field="password"
        )


def hash_password(password: str) -> str:
    """The Argon2id hash of a new password, after the policy check."""
    check_policy(password)
    return _HASHER.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified (no policy check: it is already in use)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True if the hash was made with weaker parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so that path costs the same."""
    return _HASHER.hash("no such user: this hash only equalises timing")
