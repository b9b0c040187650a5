"""AES-CBC encryption of the DC-09 data part, ANSI/SIA DC-09-2013 §5.4 (and DC-09-2021 §5.4).

AES-128/192/256 in CBC mode with an all-zero IV. The plaintext begins with pad characters so
that the whole is a multiple of 16 bytes, then the `|` separator, then the data field. There is
no MAC.

We pad with 16 to 31 random printable ASCII characters (never `|`, `[` or `]`) and always write
the `|`, also before an empty data field (`pad|]_timestamp` in a NULL or ACK), so that every
reader finds the end of the pad the same way: pysiaalarm skips any pad up to `|`, siadc09
expects 16 to 31 pad bytes and accepts `pad|]`. On decryption we are more tolerant: any pad
bytes (siadc09 pads with arbitrary bytes), a pad that ends at the first `|`, or at the `]` of
an empty data field when there is no `|` (pysiaalarm's ACK, siadc09's NULL); what follows must
be printable ASCII.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Final, Self

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from safecity.protocols.dc09.errors import Dc09Error, RejectReason

BLOCK: Final = 16
KEY_SIZES: Final = (16, 24, 32)
PAD_ALPHABET: Final = "".join(ch for ch in string.printable if " " <= ch <= "~" and ch not in "|[]")
_ZERO_IV: Final = bytes(BLOCK)
_PRINTABLE: Final = frozenset(range(0x20, 0x7F))
_HEX: Final = frozenset(string.hexdigits)


@dataclass(frozen=True)
class AesKey:
    """An AES key for one account: 16, 24 or 32 bytes (never shown in repr)."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.raw) not in KEY_SIZES:
            raise ValueError(f"an AES key is 16, 24 or 32 bytes, not {len(self.raw)}")

    @property
    def bits(self) -> int:
        return len(self.raw) * 8

    @classmethod
    def from_hex(cls, text: str) -> Self:
        """A key written as 32, 48 or 64 hex digits (siadc09 and most panels)."""
        if len(text) not in (32, 48, 64) or not all(ch in string.hexdigits for ch in text):
            raise ValueError("a hex AES key is 32, 48 or 64 hex digits")
        return cls(bytes.fromhex(text))

    @classmethod
    def from_text(cls, text: str) -> Self:
        """A key written as 16, 24 or 32 ASCII characters (pysiaalarm notation)."""
        if len(text) not in KEY_SIZES or not text.isascii():
            raise ValueError("a text AES key is 16, 24 or 32 ASCII characters")
        return cls(text.encode("ascii"))


def _cipher(key: AesKey) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key.raw), modes.CBC(_ZERO_IV))


def encrypt_payload(key: AesKey, plaintext: str, rng: random.Random) -> str:
    """Encrypt the part after `[`: `plaintext` is `data]xdata_timestamp` or `]_timestamp`.

    Returns uppercase hex. The pad and the `|` separator are added here.
    """
    if not all(0x20 <= ord(ch) < 0x7F for ch in plaintext):
        raise ValueError("DC-09 plaintext is printable ASCII")
    body = "|" + plaintext
    pad_len = BLOCK + (-len(body)) % BLOCK
    pad = "".join(rng.choice(PAD_ALPHABET) for _ in range(pad_len))
    encryptor = _cipher(key).encryptor()
    clear = (pad + body).encode("ascii")
    return (encryptor.update(clear) + encryptor.finalize()).hex().upper()


def decrypt_payload(key: AesKey, hex_text: str) -> str:
    """Decrypt hex ciphertext and drop the pad and separator: the inverse of `encrypt_payload`."""
    if not hex_text or len(hex_text) % (2 * BLOCK):
        raise Dc09Error(RejectReason.DECRYPT_FAILED, "ciphertext is not whole AES blocks")
    if not _HEX.issuperset(hex_text):
        raise Dc09Error(RejectReason.DECRYPT_FAILED, "ciphertext is not hex")
    cipher_bytes = bytes.fromhex(hex_text)
    decryptor = _cipher(key).decryptor()
    clear = decryptor.update(cipher_bytes) + decryptor.finalize()
    bar, close = clear.find(b"|"), clear.find(b"]")
    if close < 0:
        raise Dc09Error(RejectReason.DECRYPT_FAILED, "no data field in the decrypted text")
    rest = clear[bar + 1 :] if 0 <= bar < close else clear[close:]
    if not _PRINTABLE.issuperset(rest):
        raise Dc09Error(RejectReason.DECRYPT_FAILED, "decrypted text is not printable ASCII")
    return rest.decode("ascii")


__all__ = ["AesKey", "decrypt_payload", "encrypt_payload"]
