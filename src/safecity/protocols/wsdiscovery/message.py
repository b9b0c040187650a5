"""WS-Discovery Probe and ProbeMatches, the two messages an ONVIF client and camera exchange.

Edition: WS-Discovery of April 2005 (namespace `http://schemas.xmlsoap.org/ws/2005/04/discovery`)
over SOAP 1.2 with WS-Addressing of August 2004, the combination the ONVIF Core Specification
(§7.3, "Device discovery") prescribes. §5.2 Probe, §5.3 ProbeMatch; SOAP-over-UDP carries one
envelope per datagram, sent to 239.255.255.250:3702 (multicast) or to one address (unicast).

```
Probe:        Header(Action .../Probe, MessageID, To urn:...:discovery)
              Body/Probe(Types "dn:NetworkVideoTransmitter", Scopes "onvif://www.onvif.org/...")
ProbeMatches: Header(Action .../ProbeMatches, MessageID, RelatesTo <the Probe's MessageID>)
              Body/ProbeMatches/ProbeMatch*(EndpointReference/Address, Types, Scopes, XAddrs,
                                            MetadataVersion)
```
Types are qualified names: a prefix is resolved against the namespaces declared in the
envelope, and `bytes()` declares the prefixes it writes, so `parse(bytes(m)) == m`. A document
with a DTD is refused (no entity expansion from the network), as is anything above
`MAX_DATAGRAM` octets.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Final
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from safecity.core.errors import RemoteProtocolError

SOAP: Final = "http://www.w3.org/2003/05/soap-envelope"
ADDRESSING: Final = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DISCOVERY: Final = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
ONVIF_NETWORK: Final = "http://www.onvif.org/ver10/network/wsdl"
ONVIF_DEVICE: Final = "http://www.onvif.org/ver10/device/wsdl"
PROBE_ACTION: Final = f"{DISCOVERY}/Probe"
PROBE_MATCHES_ACTION: Final = f"{DISCOVERY}/ProbeMatches"
DISCOVERY_URN: Final = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ANONYMOUS: Final = f"{ADDRESSING}/role/anonymous"
MULTICAST_ADDRESS: Final = "239.255.255.250"
PORT: Final = 3702
MAX_DATAGRAM: Final = 65_507

_KNOWN_PREFIXES: Final = {ONVIF_NETWORK: "dn", ONVIF_DEVICE: "tds"}
_NCNAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_LIST_ITEM: Final = re.compile(r"[^\s\x00-\x1f\x7f]+")  # a list entry: no spaces, no controls
_DOCTYPE: Final = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True, slots=True, order=True)
class QualifiedName:
    """`{namespace}local`, the value of one entry in a Types list."""

    namespace: str
    local: str

    def __post_init__(self) -> None:
        if not _NCNAME.fullmatch(self.local):
            raise ValueError(f"{self.local!r} is not an XML name")
        if not self.namespace or not _LIST_ITEM.fullmatch(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is empty or has spaces")


NETWORK_VIDEO_TRANSMITTER: Final = QualifiedName(ONVIF_NETWORK, "NetworkVideoTransmitter")
DEVICE: Final = QualifiedName(ONVIF_DEVICE, "Device")


def _check_items(name: str, items: tuple[str, ...]) -> None:
    for item in items:
        if not _LIST_ITEM.fullmatch(item):
            raise ValueError(f"{name} entry {item!r} is empty or has spaces")


@dataclass(frozen=True, slots=True)
class Probe:
    """§5.2: who is there with these types and (prefixes of) these scopes?"""

    message_id: str
    types: tuple[QualifiedName, ...] = (NETWORK_VIDEO_TRANSMITTER,)
    scopes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_items("MessageID", (self.message_id,))
        _check_items("Scopes", self.scopes)

    def __bytes__(self) -> bytes:
        namespaces = _prefixes(self.types)
        body = (
            f"<d:Probe{_declarations(namespaces)}>"
            f"<d:Types>{_qualified(self.types, namespaces)}</d:Types>"
            f"<d:Scopes>{escape(' '.join(self.scopes))}</d:Scopes>"
            "</d:Probe>"
        )
        header = (
            f"<a:Action>{PROBE_ACTION}</a:Action>"
            f"<a:MessageID>{escape(self.message_id)}</a:MessageID>"
            f"<a:To>{DISCOVERY_URN}</a:To>"
        )
        return _envelope(header, body)


@dataclass(frozen=True, slots=True)
class ProbeMatch:
    """§5.3: one endpoint (its EPR address, a stable `urn:uuid:`) and where to reach it."""

    endpoint: str
    types: tuple[QualifiedName, ...]
    scopes: tuple[str, ...] = ()
    xaddrs: tuple[str, ...] = ()
    metadata_version: int = 1

    def __post_init__(self) -> None:
        _check_items("Address", (self.endpoint,))
        _check_items("Scopes", self.scopes)
        _check_items("XAddrs", self.xaddrs)
        if not 0 <= self.metadata_version < 2**32:
            raise ValueError("MetadataVersion is an unsigned 32-bit integer")

    def _xml(self) -> str:
        namespaces = _prefixes(self.types)
        return (
            f"<d:ProbeMatch{_declarations(namespaces)}>"
            f"<a:EndpointReference><a:Address>{escape(self.endpoint)}</a:Address>"
            "</a:EndpointReference>"
            f"<d:Types>{_qualified(self.types, namespaces)}</d:Types>"
            f"<d:Scopes>{escape(' '.join(self.scopes))}</d:Scopes>"
            f"<d:XAddrs>{escape(' '.join(self.xaddrs))}</d:XAddrs>"
            f"<d:MetadataVersion>{self.metadata_version}</d:MetadataVersion>"
            "</d:ProbeMatch>"
        )


@dataclass(frozen=True, slots=True)
class ProbeMatches:
    """The unicast answer to one Probe (`relates_to` is the Probe's MessageID)."""

    message_id: str
    relates_to: str
    matches: tuple[ProbeMatch, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_items("MessageID", (self.message_id, self.relates_to))

    def __bytes__(self) -> bytes:
        header = (
            f"<a:Action>{PROBE_MATCHES_ACTION}</a:Action>"
            f"<a:MessageID>{escape(self.message_id)}</a:MessageID>"
            f"<a:RelatesTo>{escape(self.relates_to)}</a:RelatesTo>"
            f"<a:To>{ANONYMOUS}</a:To>"
        )
        body = "<d:ProbeMatches>" + "".join(m._xml() for m in self.matches) + "</d:ProbeMatches>"
        return _envelope(header, body)


Message = Probe | ProbeMatches


def matches(probe: Probe, types: tuple[QualifiedName, ...], scopes: tuple[str, ...]) -> bool:
    """Does an endpoint of `types` and `scopes` answer `probe`? (§5.1: every probed type is
    among the endpoint's; every probed scope is a segment-wise prefix of one of its scopes,
    the default RFC 3986 matching rule.)"""
    if not set(probe.types) <= set(types):
        return False
    return all(any(_scope_prefix(wanted, have) for have in scopes) for wanted in probe.scopes)


def _scope_prefix(wanted: str, have: str) -> bool:
    wanted_parts = wanted.rstrip("/").split("/")
    have_parts = have.rstrip("/").split("/")
    return have_parts[: len(wanted_parts)] == wanted_parts


def parse(data: bytes) -> Message:
    """One SOAP-over-UDP datagram: a Probe or ProbeMatches, else `RemoteProtocolError`."""
    if len(data) > MAX_DATAGRAM:
        raise RemoteProtocolError("WS-Discovery datagram too large")
    if _DOCTYPE.search(data):
        raise RemoteProtocolError("WS-Discovery message with a DTD")
    try:
        root, namespaces = _read(data)
    except (ElementTree.ParseError, ValueError) as exc:
        raise RemoteProtocolError(f"WS-Discovery message is not XML: {exc}") from exc
    if root.tag != f"{{{SOAP}}}Envelope":
        raise RemoteProtocolError(f"not a SOAP 1.2 envelope: {root.tag}")
    action = _text(root, f"{{{SOAP}}}Header/{{{ADDRESSING}}}Action")
    message_id = _text(root, f"{{{SOAP}}}Header/{{{ADDRESSING}}}MessageID")
    try:
        if action == PROBE_ACTION:
            probe = _required(root, f"{{{SOAP}}}Body/{{{DISCOVERY}}}Probe")
            return Probe(
                message_id=message_id,
                types=_types(probe, namespaces),
                scopes=tuple(_text(probe, f"{{{DISCOVERY}}}Scopes", required=False).split()),
            )
        if action == PROBE_MATCHES_ACTION:
            body = _required(root, f"{{{SOAP}}}Body/{{{DISCOVERY}}}ProbeMatches")
            return ProbeMatches(
                message_id=message_id,
                relates_to=_text(root, f"{{{SOAP}}}Header/{{{ADDRESSING}}}RelatesTo"),
                matches=tuple(
                    _probe_match(element, namespaces)
                    for element in body.findall(f"{{{DISCOVERY}}}ProbeMatch")
                ),
            )
    except ValueError as exc:
        raise RemoteProtocolError(f"WS-Discovery message breaks a rule: {exc}") from exc
    raise RemoteProtocolError(f"WS-Discovery action not handled: {action!r}")


Scopes = dict[ElementTree.Element, dict[str, str]]


def _read(data: bytes) -> tuple[ElementTree.Element, Scopes]:
    """The document, and the namespaces in scope at each Types element (prefixes are scoped)."""
    stack: list[dict[str, str]] = [{}]
    pending: dict[str, str] = {}
    in_scope: Scopes = {}
    root: ElementTree.Element | None = None
    parser = ElementTree.iterparse(  # noqa: S314 - no DTD (checked by the caller)
        io.BytesIO(data), events=("start-ns", "start", "end")
    )
    for event, item in parser:
        if event == "start-ns":
            prefix, uri = item
            pending[prefix] = uri
        elif event == "start":
            stack.append({**stack[-1], **pending})
            pending = {}
            root = item if root is None else root
            if item.tag == f"{{{DISCOVERY}}}Types":
                in_scope[item] = stack[-1]
        else:
            stack.pop()
    if root is None:
        raise ValueError("no element")
    return root, in_scope


def _probe_match(element: ElementTree.Element, namespaces: Scopes) -> ProbeMatch:
    version = _text(element, f"{{{DISCOVERY}}}MetadataVersion", required=False) or "1"
    if not version.isdigit():
        raise RemoteProtocolError(f"MetadataVersion {version!r} is not a number")
    return ProbeMatch(
        endpoint=_text(element, f"{{{ADDRESSING}}}EndpointReference/{{{ADDRESSING}}}Address"),
        types=_types(element, namespaces),
        scopes=tuple(_text(element, f"{{{DISCOVERY}}}Scopes", required=False).split()),
        xaddrs=tuple(_text(element, f"{{{DISCOVERY}}}XAddrs", required=False).split()),
        metadata_version=int(version),
    )


def _types(element: ElementTree.Element, namespaces: Scopes) -> tuple[QualifiedName, ...]:
    types = element.find(f"{{{DISCOVERY}}}Types")
    if types is None:
        return ()
    names = []
    for entry in (types.text or "").split():
        prefix, sep, local = entry.rpartition(":")
        uri = namespaces.get(types, {}).get(prefix if sep else "")
        if uri is None:
            raise RemoteProtocolError(f"type {entry!r} uses an undeclared prefix")
        names.append(QualifiedName(uri, local))
    return tuple(names)


def _required(element: ElementTree.Element, path: str) -> ElementTree.Element:
    found = element.find(path)
    if found is None:
        raise RemoteProtocolError(f"WS-Discovery message lacks {path}")
    return found


def _text(element: ElementTree.Element, path: str, *, required: bool = True) -> str:
    found = element.find(path)
    if found is None:
        if required:
            raise RemoteProtocolError(f"WS-Discovery message lacks {path}")
        return ""
    return (found.text or "").strip()


def _prefixes(types: tuple[QualifiedName, ...]) -> dict[str, str]:
    """namespace -> prefix for the Types list: the usual ONVIF prefixes, else t0, t1, ..."""
    chosen: dict[str, str] = {}
    for name in types:
        if name.namespace not in chosen:
            chosen[name.namespace] = _KNOWN_PREFIXES.get(name.namespace, f"t{len(chosen)}")
    return chosen


def _declarations(namespaces: dict[str, str]) -> str:
    return "".join(f" xmlns:{prefix}={quoteattr(uri)}" for uri, prefix in namespaces.items())


def _qualified(types: tuple[QualifiedName, ...], namespaces: dict[str, str]) -> str:
    return " ".join(f"{namespaces[name.namespace]}:{name.local}" for name in types)


def _envelope(header: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:a="{ADDRESSING}" xmlns:d="{DISCOVERY}">'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()
