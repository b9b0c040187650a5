"""The registry's cameras as stream sources, for the platform's own video ingest.

A camera is recorded when it is enabled and names a `stream_url`. Its sealed credentials are
opened here and put into the URL's user part (`rtsp://user:password@host/...`, percent-encoded)
unless the URL carries its own; the result never leaves the process (the recorder redacts it in
every error it reports). The platform reads these as itself, not for a user, so the read is not
audited per camera: what it records and who watches it are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from safecity.org.journal import RegistryContext
from safecity.org.models import DeviceKind
from safecity.store.repositories import org as repo

STREAM_KINDS: Final = (DeviceKind.CAMERA.value,)


@dataclass(frozen=True, slots=True)
class CameraStream:
    device_id: int
    gb_id: str
    org_path: str
    url: str  # with credentials: keep it in memory


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """`url` with `username:password@` before its host, unless it has a user part already."""
    parts = urlsplit(url)
    if not username or "@" in parts.netloc:
        return url
    user = quote(username, safe="")
    secret = f":{quote(password, safe='')}" if password else ""
    return urlunsplit(parts._replace(netloc=f"{user}{secret}@{parts.netloc}"))


class CameraStreams:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def sources(self) -> list[CameraStream]:
        """Every enabled camera with a stream URL, credentials in the URL."""
        async with self._ctx.db.session() as session:
            rows = await repo.stream_devices(session, STREAM_KINDS)
        sources = []
        for row in rows:
            assert row.stream_url is not None  # the query asks for one
            password = self._ctx.sealer.open(row.secret) if row.secret else None
            sources.append(
                CameraStream(
                    device_id=row.id,
                    gb_id=row.gb_id,
                    org_path=row.org_path,
                    url=with_credentials(row.stream_url, row.username, password),
                )
            )
        return sources
