"""The registry's cameras as stream sources, for the platform's own video ingest, and as ONVIF
devices, for the event listeners and PTZ.

A camera is recorded when it is enabled and names a `stream_url`, or names an `onvif_url` and
a resolver is given: then its main stream is the URI the camera gives for its first media
profile (the resolver asks; `None` leaves the camera out this time). Its sealed credentials are
opened here and put into the URL's user part (`rtsp://user:password@host/...`, percent-encoded)
unless the URL carries its own; the result never leaves the process (the recorder redacts it in
every error it reports). The platform reads these as itself, not for a user, so the read is not
audited per camera: what it records, who watches it and who steers it are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from safecity.org.journal import RegistryContext
from safecity.org.models import DeviceKind
from safecity.store.repositories import org as repo
from safecity.store.tables import DeviceRow

STREAM_KINDS: Final = (DeviceKind.CAMERA.value,)


@dataclass(frozen=True, slots=True)
class CameraStream:
    device_id: int
    gb_id: str
    org_path: str
    url: str  # with credentials: keep it in memory


@dataclass(frozen=True, slots=True)
class OnvifDevice:
    """A camera's ONVIF device service and the device's credentials (keep it in memory)."""

    device_id: int
    gb_id: str
    point_id: int
    org_path: str
    name: str
    url: str
    username: str | None
    password: str | None = field(repr=False)
    stream_url: str | None
    revision: datetime  # the device's updated_at: any change to the device gives a new one


StreamResolver = Callable[[OnvifDevice], Awaitable[str | None]]


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """`url` with `username:password@` before its host, unless it has a user part already."""
    parts = urlsplit(url)
    if not username or "@" in parts.netloc:
        return url
    user = quote(username, safe="")
    secret = f":{quote(password, safe='')}" if password else ""
    return urlunsplit(parts._replace(netloc=f"{user}{secret}@{parts.netloc}"))


class CameraStreams:
    def __init__(self, ctx: RegistryContext, *, resolve: StreamResolver | None = None) -> None:
        self._ctx = ctx
        self._resolve = resolve

    async def sources(self) -> list[CameraStream]:
        """Every enabled camera with a stream URL (or one its ONVIF service gives), credentials
        in the URL, by device id."""
        async with self._ctx.db.session() as session:
            rows = await repo.stream_devices(session, STREAM_KINDS)
            onvif_rows = await repo.onvif_devices(session, STREAM_KINDS)
        sources = []
        for row in rows:
            assert row.stream_url is not None  # the query asks for one
            sources.append(self._stream(row, row.stream_url))
        if self._resolve is not None:
            sources += await self._resolved([r for r in onvif_rows if r.stream_url is None])
        return sorted(sources, key=lambda source: source.device_id)

    async def onvif_devices(self) -> list[OnvifDevice]:
        """Every enabled camera with an ONVIF address, by id."""
        async with self._ctx.db.session() as session:
            rows = await repo.onvif_devices(session, STREAM_KINDS)
        return [self._onvif(row) for row in rows]

    async def onvif_device(self, device_id: int) -> OnvifDevice | None:
        """The camera's ONVIF address and credentials; None if it has none (or is no camera).
        The caller has checked the scope."""
        async with self._ctx.db.session() as session:
            row = await repo.device(session, device_id)
        if row is None or row.kind not in STREAM_KINDS or row.onvif_url is None:
            return None
        return self._onvif(row)

    async def _resolved(self, rows: Sequence[DeviceRow]) -> list[CameraStream]:
        assert self._resolve is not None
        devices = [self._onvif(row) for row in rows]
        uris = await asyncio.gather(*(self._resolve(device) for device in devices))
        return [
            CameraStream(
                device_id=device.device_id,
                gb_id=device.gb_id,
                org_path=device.org_path,
                url=with_credentials(uri, device.username, device.password),
            )
            for device, uri in zip(devices, uris, strict=True)
            if uri is not None
        ]

    def _stream(self, row: DeviceRow, url: str) -> CameraStream:
        password = self._ctx.sealer.open(row.secret) if row.secret else None
        return CameraStream(
            device_id=row.id,
            gb_id=row.gb_id,
            org_path=row.org_path,
            url=with_credentials(url, row.username, password),
        )

    def _onvif(self, row: DeviceRow) -> OnvifDevice:
        assert row.onvif_url is not None  # the queries ask for one
        return OnvifDevice(
            device_id=row.id,
            gb_id=row.gb_id,
            point_id=row.point_id,
            org_path=row.org_path,
            name=row.name,
            url=row.onvif_url,
            username=row.username,
            password=self._ctx.sealer.open(row.secret) if row.secret else None,
            stream_url=row.stream_url,
            revision=row.updated_at,
        )
