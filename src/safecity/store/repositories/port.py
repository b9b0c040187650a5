"""What feature services need from the store: transactions. `store.db.Database` provides it."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class Transactions(Protocol):
    is_sqlite: bool

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A read transaction."""
        ...

    def write(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A write transaction (serialised with other writers where the store needs it)."""
        ...


class Sealer(Protocol):
    """Encrypts secrets at rest (`store.secretbox.SecretBox`)."""

    def seal(self, plaintext: str) -> bytes: ...

    def open(self, token: bytes) -> str: ...
