"""Org units: the management tree (city bureau → district branch → police station)."""

from __future__ import annotations

from fastapi import APIRouter, status

from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource
from safecity.org.models import OrgUnit, OrgUnitDraft, OrgUnitPatch

router = APIRouter(prefix="/api/org-units", tags=["org units"])
READ = scoped(Resource.ORG_UNIT, Action.READ)
WRITE = scoped(Resource.ORG_UNIT, Action.WRITE)


@router.get("", **READ)
async def list_org_units(scope: CallerScope, svc: Svc, page: Paging) -> Page[OrgUnit]:
    """Units in the caller's subtree, in tree order."""
    return await svc.units.list(scope, page)


@router.get("/{unit_id}", **READ)
async def get_org_unit(unit_id: RowId, scope: CallerScope, svc: Svc) -> OrgUnit:
    return await svc.units.get(scope, unit_id)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_org_unit(draft: OrgUnitDraft, scope: CallerScope, svc: Svc) -> OrgUnit:
    return await svc.units.create(scope, draft)


@router.patch("/{unit_id}", **WRITE)
async def update_org_unit(
    unit_id: RowId, patch: OrgUnitPatch, scope: CallerScope, svc: Svc
) -> OrgUnit:
    return await svc.units.update(scope, unit_id, patch)


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_org_unit(unit_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.units.delete(scope, unit_id)
