"""RTSP/1.0 requests and responses, RFC 2326 §6 (request), §7 (response) and §4 (message).

```
METHOD SP Request-URI SP RTSP/1.0 CRLF        RTSP/1.0 SP Status-Code SP Reason-Phrase CRLF
*(header-name ":" SP value CRLF)              *(header-name ":" SP value CRLF)
CRLF [body of Content-Length octets]          CRLF [body of Content-Length octets]
```
Headers keep their order and spelling; `header()` looks one up case-insensitively. The body's
length is not a header here: `parse` takes Content-Length into `body` and `bytes()` writes it
back when there is a body, so that `parse(bytes(m)) == m`. Obsolete line folding (a line that
starts with a space continues the previous value, §4 via RFC 2616 §2.2) is read, never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from safecity.protocols.rtsp.errors import RtspError

VERSION: Final = "RTSP/1.0"
CONTENT_LENGTH: Final = "content-length"
VERSION_NOT_SUPPORTED: Final = 505
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION: Final = re.compile(r"RTSP/[0-9]\.[0-9]")
_URI: Final = re.compile(r"[!-~]+")  # visible ASCII, no spaces
_TEXT: Final = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")  # no control characters but tab

Headers = tuple[tuple[str, str], ...]


def _check_headers(headers: Headers) -> None:
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a token")
        if name.lower() == CONTENT_LENGTH:
            raise ValueError("Content-Length follows from the body; do not set it")
        if not _TEXT.fullmatch(value) or value != value.strip(" \t"):
            raise ValueError(f"header value {value!r} has control characters or outer spaces")


def _find(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


@dataclass(frozen=True, kw_only=True)
class RtspRequest:
    method: str
    uri: str
    headers: Headers = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        if not _TOKEN.fullmatch(self.method):
            raise ValueError(f"method {self.method!r} is not a token")
        if not _URI.fullmatch(self.uri):
            raise ValueError(f"request URI {self.uri!r} is empty or has spaces")
        _check_headers(self.headers)

    def header(self, name: str) -> str | None:
        """The first header of that name, case-insensitively; None when absent."""
        return _find(self.headers, name)

    @property
    def cseq(self) -> str | None:
        return self.header("CSeq")

    @classmethod
    def parse(cls, data: bytes) -> RtspRequest:
        message = parse_message(data)
        if not isinstance(message, RtspRequest):
            raise RtspError("expected a request, got a response")
        return message

    def __bytes__(self) -> bytes:
        return _encode(f"{self.method} {self.uri} {VERSION}", self.headers, self.body)


@dataclass(frozen=True, kw_only=True)
class RtspResponse:
    status: int
    reason: str
    headers: Headers = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 999:
            raise ValueError("the status code has three digits")
        if not _TEXT.fullmatch(self.reason) or self.reason != self.reason.strip(" \t"):
            raise ValueError(f"reason phrase {self.reason!r} has control characters")
        _check_headers(self.headers)

    def header(self, name: str) -> str | None:
        return _find(self.headers, name)

    @property
    def cseq(self) -> str | None:
        return self.header("CSeq")

    @classmethod
    def parse(cls, data: bytes) -> RtspResponse:
        message = parse_message(data)
        if not isinstance(message, RtspResponse):
            raise RtspError("expected a response, got a request")
        return message

    def __bytes__(self) -> bytes:
        return _encode(f"{VERSION} {self.status} {self.reason}", self.headers, self.body)


RtspMessage = RtspRequest | RtspResponse


def _encode(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start, *(f"{name}: {value}" for name, value in headers)]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_message(data: bytes) -> RtspMessage:
    """One whole message: the header block, its blank line and exactly its body."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise RtspError("no blank line after the headers")
    start, headers, length = parse_head(data[: end + 2])
    body = data[end + 4 :]
    if len(body) != length:
        raise RtspError(f"Content-Length {length} but {len(body)} octets of body")
    return build_message(start, headers, body)


def parse_head(head: bytes) -> tuple[list[str], Headers, int]:
    """The start line's three parts, the headers (Content-Length taken out) and the body length,
    from the lines of a header block, each ending in CRLF, without the final blank line."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RtspError("the header block is not UTF-8") from exc
    lines = text.split("\r\n")[:-1] if text.endswith("\r\n") else text.split("\r\n")
    if not lines or not lines[0]:
        raise RtspError("empty start line")
    start = lines[0].split(" ", 2)
    if len(start) == 2 and start[0].startswith("RTSP/"):
        start.append("")  # a response without a reason phrase
    if len(start) != 3:
        raise RtspError(f"start line {lines[0][:80]!r} does not have three parts")
    headers = _header_lines(lines[1:])
    kept: list[tuple[str, str]] = []
    length = 0
    for name, value in headers:
        if not _TEXT.fullmatch(value):
            raise RtspError(f"header {name} has control characters")
        if name.lower() == CONTENT_LENGTH:
            if not value.isdigit() or not value.isascii() or len(value) > 10:
                raise RtspError(f"Content-Length {value[:20]!r} is not a number")
            length = int(value)
        else:
            kept.append((name, value))
    return start, tuple(kept), length


def _header_lines(lines: list[str]) -> list[tuple[str, str]]:
    """Name and value of each header line, continuation lines joined to the one before."""
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not headers:
                raise RtspError("a continuation line before any header")
            name, value = headers[-1]
            more = line.strip(" \t")
            headers[-1] = (name, f"{value} {more}".strip(" \t"))
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise RtspError(f"header line {line[:80]!r} is not name: value")
        headers.append((name, value.strip(" \t")))
    return headers


def build_message(start: list[str], headers: Headers, body: bytes) -> RtspMessage:
    """A request or response from a start line's three parts, checked."""
    first, second, third = start
    try:
        if first.startswith("RTSP/"):
            _check_version(first)
            if not (second.isdigit() and second.isascii() and len(second) == 3):
                raise RtspError(f"status {second[:10]!r} is not three digits")
            return RtspResponse(status=int(second), reason=third, headers=headers, body=body)
        _check_version(third)
        return RtspRequest(method=first, uri=second, headers=headers, body=body)
    except ValueError as exc:
        raise RtspError(str(exc)) from exc


def _check_version(version: str) -> None:
    if version == VERSION:
        return
    if _VERSION.fullmatch(version):
        raise RtspError(f"{version} is not supported", status=VERSION_NOT_SUPPORTED)
    raise RtspError(f"{version[:20]!r} is not an RTSP version")
