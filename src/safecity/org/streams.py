"""The registry's cameras as stream sources, for the platform's own video ingest, and as ONVIF
devices, for the event listeners and PTZ.

A camera is recorded when it is enabled and names a `stream_url`, or names an `onvif_url` and
a resolver is given: then its main stream is the URI the camera gives for its first media
profile (the resolver asks). One that does not answer is left out this time and listed in
`unresolved`, for the recording job to ask again; one that refuses the credentials (or whose
address cannot be used) is left out until the device changes. Its sealed credentials are
opened here and put into the URL's user part (`rtsp://user:password@host/...`, percent-encoded)
unless the URL carries its own; the result never leaves the process (the recorder redacts it in
every error it reports). The platform reads these as itself, not for a user, so the read is not
audited per camera: what it records, who watches it and who steers it are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from safecity.core.errors import ConfigError, DeviceAuthFailed
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
"""A camera's main stream URI; None when it did not answer (ask again later). Raises
`DeviceAuthFailed` or `ConfigError` when asking again cannot help before the device changes."""


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
        self._unresolved: tuple[OnvifDevice, ...] = ()

    @property
    def unresolved(self) -> tuple[OnvifDevice, ...]:
        """The cameras the last `sources()` left out because their ONVIF service did not
        answer, by id: worth asking again (`resolve`) without waiting for a device change."""
        return self._unresolved

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
        unresolved: tuple[OnvifDevice, ...] = ()
        if self._resolve is not None:
            devices = [self._onvif(row) for row in onvif_rows if row.stream_url is None]
            outcomes = await asyncio.gather(*(self._outcome(device) for device in devices))
            sources += [stream for stream, _ in outcomes if stream is not None]
            unresolved = tuple(d for d, (_, retry) in zip(devices, outcomes, strict=True) if retry)
        self._unresolved = unresolved
        return sorted(sources, key=lambda source: source.device_id)

    async def resolve(self, device: OnvifDevice) -> CameraStream | None:
        """The camera's stream as its ONVIF service gives it now (None: no answer, or no
        resolver). Raises as the resolver does (see `StreamResolver`)."""
        if self._resolve is None:
            return None
        uri = await self._resolve(device)
        if uri is None:
            return None
        return CameraStream(
            device_id=device.device_id,
            gb_id=device.gb_id,
            org_path=device.org_path,
            url=with_credentials(uri, device.username, device.password),
        )

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

    async def _outcome(self, device: OnvifDevice) -> tuple[CameraStream | None, bool]:
        """(the stream or None, whether asking again may help)."""
        try:
            stream = await self.resolve(device)
        except (DeviceAuthFailed, ConfigError):
            return None, False  # the resolver said why; the device must change first
        return stream, stream is None

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
