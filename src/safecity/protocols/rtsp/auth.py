"""Client authentication for RTSP, as RTSP/1.0 takes it from HTTP (RFC 2326 §12.5, §12.44):
Basic (RFC 7617) and Digest (RFC 2617 §3.2: MD5, qop `auth` or none, `stale`, `opaque`).

`Challenge.parse` reads one WWW-Authenticate value; `choose` prefers Digest to Basic;
`Credentials.authorization` answers a challenge for one request. The client nonce comes from
an injected `random.Random`, and the nonce count goes up with every request answered under the
same server nonce (§3.2.2).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from safecity.protocols.rtsp.errors import RtspError

UNAUTHORIZED: Final = 401
_PARAM: Final = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge: its scheme (lowercase) and parameters (names lowercase)."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    @classmethod
    def parse(cls, value: str) -> Challenge:
        scheme, _, rest = value.strip().partition(" ")
        if not scheme or not scheme.isascii() or not scheme.isalnum():
            raise RtspError(f"authentication challenge {value[:40]!r} has no scheme")
        params: list[tuple[str, str]] = []
        pos = 0
        rest = rest.strip()
        while pos < len(rest):
            match = _PARAM.match(rest, pos)
            if match is None or match.end() == pos:
                raise RtspError(f"authentication parameter at {rest[pos : pos + 30]!r}")
            raw = match[2]
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params.append((match[1].lower(), raw))
            pos = match.end()
        return cls(scheme.lower(), tuple(params))


def choose(challenges: Iterable[Challenge]) -> Challenge | None:
    """The strongest challenge we can answer: Digest with MD5, else Basic."""
    found = list(challenges)
    for challenge in found:
        algorithm = (challenge.param("algorithm") or "MD5").upper()
        if challenge.scheme == "digest" and algorithm == "MD5" and challenge.param("nonce"):
            return challenge
    return next((c for c in found if c.scheme == "basic"), None)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Credentials:
    """A user name and password, and the nonce count of the Digest exchange under way."""

    username: str
    password: str
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _nonce: str = field(default="", repr=False)
    _count: int = field(default=0, repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"

    def authorization(self, challenge: Challenge, method: str, uri: str) -> str:
        """The Authorization header value for `method uri` under `challenge`."""
        if challenge.scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return f"Basic {token}"
        if challenge.scheme != "digest":
            raise RtspError(f"cannot answer a {challenge.scheme} challenge")
        realm = challenge.param("realm") or ""
        nonce = challenge.param("nonce") or ""
        if nonce != self._nonce:
            self._nonce, self._count = nonce, 0
        self._count += 1
        ha1 = _md5(f"{self.username}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
        ]
        qops = [q.strip() for q in (challenge.param("qop") or "").split(",") if q.strip()]
        if "auth" in qops:
            count = f"{self._count:08x}"
            cnonce = f"{self.rng.getrandbits(64):016x}"
            response = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
            parts += [f"response={_quote(response)}", "qop=auth", f"nc={count}"]
            parts.append(f"cnonce={_quote(cnonce)}")
        else:
            parts.append(f"response={_quote(_md5(f'{ha1}:{nonce}:{ha2}'))}")
        if (opaque := challenge.param("opaque")) is not None:
            parts.append(f"opaque={_quote(opaque)}")
        if challenge.param("algorithm") is not None:
            parts.append("algorithm=MD5")
        return "Digest " + ", ".join(parts)
