"""Devices: cameras, alarm panels, GB/T 28181 devices, NVRs and platforms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource
from safecity.org.models import Device, DeviceDraft, DeviceKind, DevicePatch

router = APIRouter(prefix="/api/devices", tags=["devices"])
READ = scoped(Resource.DEVICE, Action.READ)
WRITE = scoped(Resource.DEVICE, Action.WRITE)


class DeviceCredentials(BaseModel):
    username: str | None
    password: str | None


@router.get("", **READ)
async def list_devices(
    scope: CallerScope,
    svc: Svc,
    page: Paging,
    point_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only this point's devices")
    ] = None,
    kind: Annotated[DeviceKind | None, Query(description="Only this kind")] = None,
) -> Page[Device]:
    return await svc.devices.list(scope, page, point_id=point_id, kind=kind)


@router.get("/{device_id}", **READ)
async def get_device(device_id: RowId, scope: CallerScope, svc: Svc) -> Device:
    return await svc.devices.get(scope, device_id)


@router.get("/{device_id}/credentials", **scoped(Resource.DEVICE_SECRET, Action.READ))
async def get_device_credentials(
    device_id: RowId, scope: CallerScope, svc: Svc
) -> DeviceCredentials:
    """The device's login in clear (administrators only; audited)."""
    username, password = await svc.devices.credentials(scope, device_id)
    return DeviceCredentials(username=username, password=password)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_device(draft: DeviceDraft, scope: CallerScope, svc: Svc) -> Device:
    return await svc.devices.create(scope, draft)


@router.patch("/{device_id}", **WRITE)
async def update_device(
    device_id: RowId, patch: DevicePatch, scope: CallerScope, svc: Svc
) -> Device:
    return await svc.devices.update(scope, device_id, patch)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_device(device_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.devices.delete(scope, device_id)
