"""The RTSP Transport header, RFC 2326 §12.39: how RTP travels for one stream.

```
Transport: RTP/AVP;unicast;client_port=4588-4589            (UDP, the default lower transport)
Transport: RTP/AVP/TCP;unicast;interleaved=0-1              (inside the RTSP connection)
Transport: RTP/AVP;unicast;client_port=4588-4589;server_port=6256-6257;ssrc=0A1B2C3D
```
A request may list alternatives separated by commas, in order of preference. Parameters we do
not model are kept in `extra`, in order. `str(spec)` writes the known parameters in a fixed
order and then the extras, so `TransportSpec.parse(str(spec)) == spec`. A port range of one
port (`a-a`) is written as `a`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from safecity.protocols.rtsp.errors import RtspError

UNSUPPORTED_TRANSPORT: Final = 461
_PROTOCOL: Final = re.compile(r"[A-Za-z0-9]+/[A-Za-z0-9]+(?:/[A-Za-z0-9]+)?")
_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]+")
_VALUE: Final = re.compile(r'[^\s;,"]+|"[^";,]*"')
_RANGE: Final = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")

PortRange = tuple[int, int]


class LowerTransport(StrEnum):
    UDP = "UDP"
    TCP = "TCP"


@dataclass(frozen=True, kw_only=True)
class TransportSpec:
    """One transport alternative."""

    protocol: str = "RTP/AVP"  # transport/profile[/lower-transport], as written
    unicast: bool = True
    destination: str | None = None
    source: str | None = None
    interleaved: PortRange | None = None
    ttl: int | None = None
    port: PortRange | None = None
    client_port: PortRange | None = None
    server_port: PortRange | None = None
    ssrc: int | None = None
    mode: str | None = None
    extra: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self) -> None:
        if not _PROTOCOL.fullmatch(self.protocol):
            raise ValueError(f"{self.protocol!r} is not transport/profile[/lower]")
        for name in ("interleaved", "port", "client_port", "server_port"):
            value: PortRange | None = getattr(self, name)
            limit = 255 if name == "interleaved" else 65535
            if value is not None and not 0 <= value[0] <= value[1] <= limit:
                raise ValueError(f"{name} is a range low-high within 0..{limit}")
        if self.ttl is not None and not 0 <= self.ttl <= 255:
            raise ValueError("ttl is 0..255")
        if self.ssrc is not None and not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError("ssrc is 32 bits")
        for text in (self.destination, self.source, self.mode):
            if text is not None and not _VALUE.fullmatch(text):
                raise ValueError(f"{text!r} cannot be a parameter value")
        for name, extra in self.extra:
            if not _NAME.fullmatch(name) or name.lower() in _KNOWN:
                raise ValueError(f"{name!r} is not an extra parameter name")
            if extra is not None and not _VALUE.fullmatch(extra):
                raise ValueError(f"{extra!r} cannot be a parameter value")

    @property
    def lower_transport(self) -> LowerTransport:
        """TCP or UDP; RTP/AVP without a third part means UDP (§12.39)."""
        parts = self.protocol.upper().split("/")
        return LowerTransport.TCP if len(parts) == 3 and parts[2] == "TCP" else LowerTransport.UDP

    @classmethod
    def parse(cls, text: str) -> TransportSpec:
        """One alternative (no commas); `RtspError` with status 461 when unreadable."""
        protocol, *params = (part.strip() for part in text.split(";"))
        if not _PROTOCOL.fullmatch(protocol):
            raise _error(f"{protocol[:40]!r} is not transport/profile[/lower]")
        fields: dict[str, object] = {"protocol": protocol}
        extra: list[tuple[str, str | None]] = []
        for param in params:
            name, equals, value = param.partition("=")
            name = name.strip()
            value = value.strip()
            if not _NAME.fullmatch(name) or (equals and not _VALUE.fullmatch(value)):
                raise _error(f"transport parameter {param[:40]!r}")
            key = name.lower()
            if key in ("unicast", "multicast"):
                fields["unicast"] = key == "unicast"
            elif key in ("interleaved", "port", "client_port", "server_port"):
                fields[key] = _range(value)
            elif key == "ttl":
                fields[key] = _number(value, 255)
            elif key == "ssrc":
                fields[key] = _ssrc(value)
            elif key in ("destination", "source", "mode"):
                fields[key] = value
            else:
                extra.append((name, value if equals else None))
        fields["extra"] = tuple(extra)
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except ValueError as exc:
            raise _error(str(exc)) from exc

    def __str__(self) -> str:
        parts = [self.protocol, "unicast" if self.unicast else "multicast"]
        for name in ("destination", "source"):
            if (text := getattr(self, name)) is not None:
                parts.append(f"{name}={text}")
        if self.interleaved is not None:
            parts.append(f"interleaved={_format_range(self.interleaved)}")
        if self.ttl is not None:
            parts.append(f"ttl={self.ttl}")
        for name in ("port", "client_port", "server_port"):
            if (ports := getattr(self, name)) is not None:
                parts.append(f"{name}={_format_range(ports)}")
        if self.ssrc is not None:
            parts.append(f"ssrc={self.ssrc:08X}")
        if self.mode is not None:
            parts.append(f"mode={self.mode}")
        parts += [name if value is None else f"{name}={value}" for name, value in self.extra]
        return ";".join(parts)


_KNOWN: Final = frozenset(
    {
        "unicast",
        "multicast",
        "destination",
        "source",
        "interleaved",
        "ttl",
        "port",
        "client_port",
        "server_port",
        "ssrc",
        "mode",
    }
)


def parse_transport_header(value: str) -> tuple[TransportSpec, ...]:
    """Every alternative of a Transport header, in the client's order of preference."""
    specs = tuple(TransportSpec.parse(part) for part in value.split(",") if part.strip())
    if not specs:
        raise _error("empty Transport header")
    return specs


def format_transport_header(specs: tuple[TransportSpec, ...]) -> str:
    return ",".join(str(spec) for spec in specs)


def _error(message: str) -> RtspError:
    return RtspError(message, status=UNSUPPORTED_TRANSPORT)


def _range(text: str) -> PortRange:
    match = _RANGE.fullmatch(text)
    if match is None:
        raise _error(f"{text[:20]!r} is not a port or channel range")
    low = int(match[1])
    high = int(match[2]) if match[2] is not None else low
    return low, high


def _number(text: str, limit: int) -> int:
    if not (text.isdigit() and text.isascii()) or int(text) > limit:
        raise _error(f"{text[:20]!r} is not a number up to {limit}")
    return int(text)


def _ssrc(text: str) -> int:
    if not 1 <= len(text) <= 8:
        raise _error(f"ssrc {text[:20]!r} is not 8 hex digits")
    try:
        return int(text, 16)
    except ValueError as exc:
        raise _error(f"ssrc {text[:20]!r} is not hex") from exc


def _format_range(ports: PortRange) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
