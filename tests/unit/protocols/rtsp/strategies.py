"""Hypothesis strategies for RTSP messages, shared by the property tests."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from safecity.protocols.rtsp import RtspRequest, RtspResponse

TOKEN = string.ascii_letters + string.digits + "!#%&'*+-.^_`|~"
VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))

names = st.text(TOKEN, min_size=1, max_size=16).filter(lambda n: n.lower() != "content-length")
values = st.text(VISIBLE + " \t", max_size=40).map(lambda v: v.strip(" \t"))
headers = st.lists(st.tuples(names, values), max_size=6).map(tuple)
bodies = st.binary(max_size=200)

requests = st.builds(
    RtspRequest,
    method=st.text(TOKEN.replace("$", ""), min_size=1, max_size=14),
    uri=st.text(VISIBLE, min_size=1, max_size=60),
    headers=headers,
    body=bodies,
)
responses = st.builds(
    RtspResponse,
    status=st.integers(100, 999),
    reason=st.text(string.ascii_letters + " ", max_size=30).map(str.strip),
    headers=headers,
    body=bodies,
)
messages = requests | responses
