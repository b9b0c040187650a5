"""Hypothesis strategies for DC-09 messages and keys, shared by the property tests."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from hypothesis import strategies as st

from safecity.protocols.dc09 import AesKey, Dc09Message, Token

HEX = string.digits + "ABCDEFabcdef"
FIELD = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in "[]")

keys = (
    st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(AesKey)
)
timestamps = st.datetimes(
    min_value=datetime(1000, 1, 1),  # noqa: DTZ001 - Hypothesis bounds are naive
    max_value=datetime(9999, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda t: t.replace(microsecond=0))


@st.composite
def messages(draw: st.DrawFn, *, encrypted: bool | None = None) -> Dc09Message:
    plain_only = (Token.NAK, Token.DUH)
    tokens = [t for t in Token if not (encrypted and t in plain_only)]
    token = draw(st.sampled_from(tokens))
    can_encrypt = token not in plain_only
    secret = draw(st.booleans()) if encrypted is None else encrypted
    secret = secret and can_encrypt
    account_options = st.text(HEX, min_size=3, max_size=16)
    if not can_encrypt:
        account_options = account_options | st.just("0")
    return Dc09Message(
        token=token,
        sequence=draw(st.integers(0, 9999)),
        receiver=draw(st.none() | st.text(HEX, min_size=1, max_size=6)),
        line=draw(st.text(HEX, min_size=1, max_size=6)),
        account=draw(account_options),
        data=draw(st.text(FIELD, max_size=60)),
        extended=tuple(draw(st.lists(st.text(FIELD, min_size=1, max_size=30), max_size=3))),
        timestamp=draw(timestamps if secret else st.none() | timestamps),
        encrypted=secret,
    )
