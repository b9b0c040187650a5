"""Sharing grants: chosen points, with chosen rights, for a partner department."""

from __future__ import annotations

from fastapi import APIRouter, status

from safecity.access.models import Grant, GrantDraft
from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource

router = APIRouter(prefix="/api/grants", tags=["sharing"])
READ = scoped(Resource.GRANT, Action.READ)
WRITE = scoped(Resource.GRANT, Action.WRITE)


@router.get("", **READ)
async def list_grants(scope: CallerScope, svc: Svc, page: Paging) -> Page[Grant]:
    return await svc.grants.list(scope, page)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_grant(draft: GrantDraft, scope: CallerScope, svc: Svc) -> Grant:
    return await svc.grants.create(scope, draft)


@router.delete("/{grant_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_grant(grant_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.grants.delete(scope, grant_id)
