"""Devices at points: cameras, alarm panels, GB/T 28181 devices, NVRs and platforms.

Credentials are sealed with the master key before they reach the store and are never returned
by `get`/`list`; `credentials` opens them for the adapters (and admins) that need them.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.errors import Conflict, NotFound
from safecity.core.events import DeviceChanged
from safecity.core.ids import GbCode, NetworkFlag, TypeCode, next_free_code
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Role, Scope
from safecity.org.journal import RegistryContext, changed_fields, record
from safecity.org.models import Device, DeviceDraft, DeviceKind, DevicePatch, OwnerKind
from safecity.org.points import visible_point
from safecity.store.repositories import org as repo
from safecity.store.tables import DeviceRow, PointRow

TYPE_FOR_KIND: Final = {
    DeviceKind.CAMERA: TypeCode.IPC,
    DeviceKind.ALARM_PANEL: TypeCode.ALARM_CONTROLLER,
    DeviceKind.GB_DEVICE: TypeCode.IPC,
    DeviceKind.NVR: TypeCode.NVR,
    DeviceKind.GB_PLATFORM: TypeCode.PLATFORM,
}
# GB/T 28181 table D.3 industry codes by who owns the point.
INDUSTRY_FOR_OWNER: Final = {
    None: "00",  # in-house: social-security road surveillance
    OwnerKind.COMMUNITY: "01",
    OwnerKind.SCHOOL: "11",
}
Change = Literal["created", "updated", "deleted"]


def device_view(row: DeviceRow) -> Device:
    return Device(
        id=row.id,
        point_id=row.point_id,
        org_path=row.org_path,
        gb_id=row.gb_id,
        kind=DeviceKind(row.kind),
        name=row.name,
        vendor=row.vendor,
        model=row.model,
        host=row.host,
        port=row.port,
        stream_url=row.stream_url,
        onvif_url=row.onvif_url,
        username=row.username,
        has_password=row.secret is not None,
        enabled=row.enabled,
    )


async def allocate_gb_id(session: AsyncSession, point: PointRow, kind: DeviceKind) -> GbCode:
    unit = await repo.unit(session, point.org_unit_id)
    if unit is None:
        raise NotFound(f"org unit {point.org_unit_id} not found")
    owner = OwnerKind(point.owner_kind) if point.owner_kind else None
    industry = INDUSTRY_FOR_OWNER.get(owner, "03")
    type_code = TYPE_FOR_KIND[kind]
    network = NetworkFlag.PRIVATE
    prefix = f"{unit.centre_code}{industry}{type_code}{network}"
    taken = await repo.gb_ids_with_prefix(session, prefix)
    return next_free_code(
        taken, centre=unit.centre_code, type_code=type_code, industry=industry, network=network
    )


class DeviceService:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def _visible(self, session: AsyncSession, scope: Scope, device_id: int) -> DeviceRow:
        row = await repo.device(session, device_id)
        if row is None or not scope.sees_point(row.point_id, row.org_path):
            raise NotFound(f"device {device_id} not found")
        return row

    async def get(self, scope: Scope, device_id: int) -> Device:
        require(scope, Resource.DEVICE, Action.READ)
        async with self._ctx.db.session() as session:
            return device_view(await self._visible(session, scope, device_id))

    async def list(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        point_id: int | None = None,
        kind: DeviceKind | None = None,
    ) -> Page[Device]:
        require(scope, Resource.DEVICE, Action.READ)
        path = "" if scope.role is Role.PARTNER else scope.org_path
        async with self._ctx.db.session() as session:
            rows, total = await repo.devices(
                session,
                path=path,
                shared=scope.shared_points,
                offset=page.offset,
                limit=page.limit,
                point_id=point_id,
                kind=kind,
            )
        return Page(
            items=[device_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def create(self, scope: Scope, draft: DeviceDraft) -> Device:
        require(scope, Resource.DEVICE, Action.WRITE)
        async with self._ctx.db.write() as session:
            point = await visible_point(session, scope, draft.point_id)
            if not scope.covers_path(point.org_path):
                raise NotFound(f"point {draft.point_id} not found")
            if draft.gb_id is None:
                gb_id = (await allocate_gb_id(session, point, draft.kind)).value
            elif await repo.gb_id_taken(session, draft.gb_id):
                raise Conflict(f"GB/T 28181 code {draft.gb_id} is already registered")
            else:
                gb_id = draft.gb_id
            now = self._ctx.clock.now()
            row = DeviceRow(
                point_id=point.id,
                org_path=point.org_path,
                gb_id=gb_id,
                kind=draft.kind,
                name=draft.name,
                vendor=draft.vendor,
                model=draft.model,
                host=draft.host,
                port=draft.port,
                stream_url=draft.stream_url,
                onvif_url=draft.onvif_url,
                username=draft.username,
                secret=self._seal(draft.password),
                enabled=True,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            await record(
                self._ctx,
                session,
                scope,
                action="device.create",
                target=f"device:{row.id}",
                org_path=row.org_path,
                detail=changed_fields(draft.model_dump(mode="json", exclude={"password"})),
            )
        await self._publish(row, scope, "created")
        return device_view(row)

    async def update(self, scope: Scope, device_id: int, patch: DevicePatch) -> Device:
        require(scope, Resource.DEVICE, Action.WRITE)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, device_id)
            if not scope.covers_path(row.org_path):
                raise NotFound(f"device {device_id} not found")
            if "password" in changes:
                row.secret = self._seal(patch.password)
            for key, value in changes.items():
                if key != "password":
                    setattr(row, key, value)
            row.updated_at = self._ctx.clock.now()
            await record(
                self._ctx,
                session,
                scope,
                action="device.update",
                target=f"device:{row.id}",
                org_path=row.org_path,
                detail=changed_fields(changes),
            )
        await self._publish(row, scope, "updated")
        return device_view(row)

    async def delete(self, scope: Scope, device_id: int) -> None:
        require(scope, Resource.DEVICE, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, device_id)
            if not scope.covers_path(row.org_path):
                raise NotFound(f"device {device_id} not found")
            await session.delete(row)
            await record(
                self._ctx,
                session,
                scope,
                action="device.delete",
                target=f"device:{row.id}",
                org_path=row.org_path,
                detail={"gb_id": row.gb_id, "name": row.name},
            )
        await self._publish(row, scope, "deleted")

    async def credentials(self, scope: Scope, device_id: int) -> tuple[str | None, str | None]:
        """(username, password) in clear, for admins and adapters; the read is audited."""
        require(scope, Resource.DEVICE_SECRET, Action.READ)
        async with self._ctx.db.write() as session:
            row = await self._visible(session, scope, device_id)
            password = self._ctx.sealer.open(row.secret) if row.secret else None
            await record(
                self._ctx,
                session,
                scope,
                action="device.credentials",
                target=f"device:{row.id}",
                org_path=row.org_path,
            )
        return row.username, password

    def _seal(self, password: SecretStr | None) -> bytes | None:
        return None if password is None else self._ctx.sealer.seal(password.get_secret_value())

    async def _publish(self, row: DeviceRow, scope: Scope, change: Change) -> None:
        await self._ctx.bus.publish(
            DeviceChanged(
                at=self._ctx.clock.now(),
                org_path=row.org_path,
                actor=scope.username,
                device_id=row.id,
                point_id=row.point_id,
                change=change,
            )
        )
