"""WS-Discovery Probe and ProbeMatches: round trips, a camera's wire sample, hostile input,
the matching rule, and the third-party `wsdiscovery` codec reading ours and writing to ours."""

from __future__ import annotations

import contextlib
import string
from pathlib import Path
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsdiscovery.actions import constructProbe, constructProbeMatch
from wsdiscovery.message import createSOAPMessage, parseSOAPMessage
from wsdiscovery.qname import QName
from wsdiscovery.scope import Scope
from wsdiscovery.service import Service

from safecity.core.errors import RemoteProtocolError
from safecity.protocols.wsdiscovery import (
    DEVICE,
    NETWORK_VIDEO_TRANSMITTER,
    Probe,
    ProbeMatch,
    ProbeMatches,
    QualifiedName,
    matches,
    parse,
)

DATA: Final = Path(__file__).resolve().parents[3] / "data" / "wsdiscovery"
ITEM: Final = string.ascii_letters + string.digits + ":/._-?=&%<>\"'"

items = st.text(ITEM, min_size=1, max_size=30)
names = st.builds(
    QualifiedName,
    namespace=st.sampled_from(["http://www.onvif.org/ver10/network/wsdl", "urn:x", "http://a/b&c"])
    | items,
    local=st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,12}", fullmatch=True),
)
probes = st.builds(
    Probe,
    message_id=items,
    types=st.lists(names, max_size=4).map(tuple),
    scopes=st.lists(items, max_size=4).map(tuple),
)
probe_matches = st.builds(
    ProbeMatches,
    message_id=items,
    relates_to=items,
    matches=st.lists(
        st.builds(
            ProbeMatch,
            endpoint=items,
            types=st.lists(names, max_size=4).map(tuple),
            scopes=st.lists(items, max_size=4).map(tuple),
            xaddrs=st.lists(items, max_size=3).map(tuple),
            metadata_version=st.integers(0, 2**32 - 1),
        ),
        max_size=3,
    ).map(tuple),
)


@given(probes | probe_matches)
def test_parse_gives_back_every_message_it_writes(message: Probe | ProbeMatches) -> None:
    assert parse(bytes(message)) == message


@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_message_or_a_remote_protocol_error(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse(data)


def test_a_camera_probe_match_is_read_with_its_prefixes_and_both_addresses() -> None:
    message = parse((DATA / "probe-match-camera.xml").read_bytes())
    assert isinstance(message, ProbeMatches)
    assert message.relates_to == "uuid:6b9f0b7e-0c51-4b6b-9d3c-1f3a0ce2b4d0"
    (match,) = message.matches
    assert match.endpoint == "urn:uuid:3f7a1c2e-1dd2-11b2-a105-e0508b4f2a11"
    assert match.types == (NETWORK_VIDEO_TRANSMITTER, DEVICE)
    assert match.xaddrs == (
        "http://192.168.1.64/onvif/device_service",
        "http://[fe80::e250:8bff:fe4f:2a11]/onvif/device_service",
    )
    assert "onvif://www.onvif.org/name/IPC-7" in match.scopes
    assert match.metadata_version == 10


def test_prefixes_are_resolved_in_the_scope_that_declares_them() -> None:
    first = ProbeMatch("urn:a", (QualifiedName("urn:one", "T"),))
    second = ProbeMatch("urn:b", (QualifiedName("urn:two", "T"),))
    data = bytes(ProbeMatches("urn:m", "urn:p", (first, second)))
    assert data.count(b'xmlns:t0="urn:one"') == 1
    assert data.count(b'xmlns:t0="urn:two"') == 1  # the same prefix, another namespace
    message = parse(data)
    assert isinstance(message, ProbeMatches)
    assert message.matches == (first, second)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTD"),
        (b"<s:Envelope xmlns:s='urn:not-soap'/>", "SOAP 1.2"),
        (bytes(Probe("urn:1")).replace(b"/Probe<", b"/Hello<"), "not handled"),
        (bytes(Probe("urn:1")).replace(b"dn:Network", b"zz:Network"), "undeclared"),
        (b"x" * 70_000, "too large"),
    ],
)
def test_hostile_or_foreign_datagrams_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(RemoteProtocolError, match=why):
        parse(data)


def test_a_probe_matches_on_types_and_on_segment_prefixes_of_scopes() -> None:
    types = (NETWORK_VIDEO_TRANSMITTER, DEVICE)
    scopes = ("onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/name/cam-1")
    assert matches(Probe("urn:1"), types, scopes)
    assert matches(Probe("urn:1", types=()), types, scopes)
    assert matches(Probe("urn:1", scopes=("onvif://www.onvif.org/type",)), types, scopes)
    assert not matches(Probe("urn:1", scopes=("onvif://www.onvif.org/ty",)), types, scopes)
    assert not matches(Probe("urn:1", types=(QualifiedName("urn:x", "Printer"),)), types, scopes)


def test_values_that_cannot_be_written_are_refused() -> None:
    with pytest.raises(ValueError, match="spaces"):
        Probe("urn:1", scopes=("two words",))
    with pytest.raises(ValueError, match="XML name"):
        QualifiedName("urn:x", "1bad")


def test_the_wsdiscovery_library_reads_our_probe_and_probe_matches() -> None:
    probe = Probe("urn:uuid:1", scopes=("onvif://www.onvif.org/type",))
    env = parseSOAPMessage(bytes(probe), "127.0.0.1")
    assert env.getMessageId() == "urn:uuid:1"
    assert [(t.getNamespace(), t.getLocalname()) for t in env.getTypes()] == [
        (NETWORK_VIDEO_TRANSMITTER.namespace, "NetworkVideoTransmitter")
    ]
    assert [s.getValue() for s in env.getScopes()] == ["onvif://www.onvif.org/type"]

    answer = ProbeMatches(
        "urn:uuid:2",
        "urn:uuid:1",
        (ProbeMatch("urn:uuid:3", (NETWORK_VIDEO_TRANSMITTER, DEVICE), (), ("http://h/x",)),),
    )
    env = parseSOAPMessage(bytes(answer), "127.0.0.1")
    assert env.getRelatesTo() == "urn:uuid:1"
    (match,) = env.getProbeResolveMatches()
    assert (match.getEPR(), match.getXAddrs()) == ("urn:uuid:3", ["http://h/x"])


def test_we_read_the_wsdiscovery_librarys_probe_and_probe_matches() -> None:
    nvt = QName(NETWORK_VIDEO_TRANSMITTER.namespace, "NetworkVideoTransmitter", "dn")
    scope = Scope("onvif://www.onvif.org/type/ptz")
    probe = parse(createSOAPMessage(constructProbe([nvt], [scope])).encode())
    assert isinstance(probe, Probe)
    assert probe.types == (NETWORK_VIDEO_TRANSMITTER,)
    assert probe.scopes == ("onvif://www.onvif.org/type/ptz",)

    service = Service([nvt], [scope], ["http://10.0.0.7/onvif/device_service"], "urn:uuid:9", 0)
    service.setMetadataVersion(3)
    answer = parse(createSOAPMessage(constructProbeMatch([service], probe.message_id)).encode())
    assert isinstance(answer, ProbeMatches)
    assert answer.relates_to == probe.message_id
    assert answer.matches == (
        ProbeMatch(
            "urn:uuid:9",
            (NETWORK_VIDEO_TRANSMITTER,),
            ("onvif://www.onvif.org/type/ptz",),
            ("http://10.0.0.7/onvif/device_service",),
            3,
        ),
    )
