"""Encryption at rest for device credentials and alarm keys, under one master key (Fernet:
AES-128-CBC + HMAC-SHA256, from `cryptography`)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from safecity.core.errors import ConfigError, SafecityError


class SecretBox:
    def __init__(self, master_key: str) -> None:
        try:
            self._fernet = Fernet(master_key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigError(
                "security.master_key must be 32 url-safe base64-encoded bytes "
                "(generate one with `safecity admin new-key`)"
            ) from exc
        digest = hashlib.sha256(master_key.encode("ascii")).digest()
        self.fingerprint = base64.urlsafe_b64encode(digest[:9]).decode("ascii")

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise SafecityError("stored secret does not open with this master key") from exc
