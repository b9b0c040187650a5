"""SOAP 1.2 as the simulated ONVIF camera speaks it: read a request envelope, check its
WS-Security UsernameToken, write a response or a fault.

UsernameToken Profile 1.0 §3.1 (password digest): `Base64(SHA-1(nonce + created + password))`,
the nonce Base64-decoded first. A token must be fresh (`Created` within `MAX_SKEW_S` of our
clock) and its nonce unused within that window (replay). A request without a valid token gets
the ONVIF Core §5.11.2.4 fault `env:Sender / ter:NotAuthorized` (HTTP 400), as a real camera.
A document with a DTD is refused before parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from xml.etree import ElementTree
from xml.sax.saxutils import escape

SOAP: Final = "http://www.w3.org/2003/05/soap-envelope"
WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_USERNAME_PROFILE: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
PASSWORD_DIGEST: Final = f"{_USERNAME_PROFILE}#PasswordDigest"
WSA: Final = "http://www.w3.org/2005/08/addressing"
MAX_SKEW_S: Final = 300.0
MAX_REQUEST: Final = 1 << 20

NAMESPACES: Final = {
    "s": SOAP,
    "wsa": WSA,
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "tns1": "http://www.onvif.org/ver10/topics",
    "ter": "http://www.onvif.org/ver10/error",
}
_DTD: Final = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


class SoapFault(Exception):
    """Answer the request with this fault: `code` env:Sender/Receiver, `subcode` ter:..."""

    def __init__(self, reason: str, *, subcode: str, code: str = "s:Sender", status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.subcode = subcode
        self.code = code
        self.status = status


def not_authorized() -> SoapFault:
    return SoapFault("Sender not Authorized", subcode="ter:NotAuthorized")


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """The operation (the Body's first child) and the token, if any, from the Header."""

    operation: ElementTree.Element
    username: str | None
    password_digest: str | None
    nonce: bytes | None
    created: str | None

    @property
    def name(self) -> str:
        return local_name(self.operation.tag)


def parse_request(data: bytes) -> SoapRequest:
    """A SOAP 1.2 request envelope; a malformed one is a `ter:WellFormed` fault."""
    if len(data) > MAX_REQUEST or _DTD.search(data):
        raise SoapFault("request too large or with a DTD", subcode="ter:WellFormed")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - no DTD (checked above), size capped
    except ElementTree.ParseError as exc:
        raise SoapFault(f"not well-formed XML: {exc}", subcode="ter:WellFormed") from exc
    body = root.find(f"{{{SOAP}}}Body")
    if root.tag != f"{{{SOAP}}}Envelope" or body is None or len(body) == 0:
        raise SoapFault("not a SOAP 1.2 envelope with a body", subcode="ter:WellFormed")
    token = root.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return SoapRequest(body[0], None, None, None, None)
    password = token.find(f"{{{WSSE}}}Password")
    nonce_text = token.findtext(f"{{{WSSE}}}Nonce")
    try:
        nonce = base64.b64decode(nonce_text or "", validate=True) if nonce_text else None
    except binascii.Error:
        nonce = None
    digest = None
    if password is not None and password.get("Type", PASSWORD_DIGEST) == PASSWORD_DIGEST:
        digest = (password.text or "").strip()
    return SoapRequest(
        body[0],
        username=(token.findtext(f"{{{WSSE}}}Username") or "").strip(),
        password_digest=digest,
        nonce=nonce,
        created=(token.findtext(f"{{{WSU}}}Created") or "").strip() or None,
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - the profile's hash
    ).decode()


class TokenChecker:
    """Checks UsernameTokens against one account; remembers recent nonces against replay."""

    def __init__(self, username: str, password: str, *, memory: int = 4096) -> None:
        self.username = username
        self.password = password
        self._nonces: OrderedDict[bytes, datetime] = OrderedDict()
        self._memory = memory

    def check(self, request: SoapRequest, now: datetime) -> None:
        """Return if the token is valid and fresh; raise the NotAuthorized fault otherwise."""
        if (
            request.username is None
            or request.password_digest is None
            or request.nonce is None
            or request.created is None
        ):
            raise not_authorized()
        try:
            created = datetime.fromisoformat(request.created.replace("Z", "+00:00"))
        except ValueError:
            raise not_authorized() from None
        if created.tzinfo is None or abs((now - created).total_seconds()) > MAX_SKEW_S:
            raise not_authorized()
        expected = password_digest(request.nonce, request.created, self.password)
        user_ok = hmac.compare_digest(request.username.encode(), self.username.encode())
        digest_ok = hmac.compare_digest(request.password_digest.encode(), expected.encode())
        if not (user_ok and digest_ok) or request.nonce in self._nonces:
            raise not_authorized()
        self._remember(request.nonce, now)

    def _remember(self, nonce: bytes, now: datetime) -> None:
        horizon = now - timedelta(seconds=2 * MAX_SKEW_S)
        while self._nonces and (
            len(self._nonces) >= self._memory or next(iter(self._nonces.values())) < horizon
        ):
            self._nonces.popitem(last=False)
        self._nonces[nonce] = now


def envelope(body: str, *, header: str = "") -> bytes:
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {declarations}>{head}'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_envelope(fault: SoapFault) -> bytes:
    return envelope(
        "<s:Fault>"
        f"<s:Code><s:Value>{fault.code}</s:Value>"
        f"<s:Subcode><s:Value>{fault.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{escape(fault.reason)}</s:Text></s:Reason>'
        "</s:Fault>"
    )


def text(element: ElementTree.Element, local: str, default: str = "") -> str:
    """The text of the first descendant named `local` in any namespace."""
    for child in element.iter():
        if local_name(child.tag) == local:
            return (child.text or "").strip()
    return default


def child(element: ElementTree.Element, local: str) -> ElementTree.Element | None:
    """The first descendant named `local` in any namespace."""
    for found in element.iter():
        if found is not element and local_name(found.tag) == local:
            return found
    return None


def local_name(tag: str) -> str:
    """`{namespace}name` -> `name`."""
    return tag.rpartition("}")[2]


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
