"""Alarm subscriber accounts: the panels the receiving centre knows, their zones and keys.

Keys go in (`key_hex` / `key_text`) and never come out: views say only `has_key`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from safecity.alarms.account_models import Account, AccountDraft, AccountPatch, ZoneDraft
from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource

router = APIRouter(prefix="/api/alarm-accounts", tags=["alarm accounts"])
READ = scoped(Resource.ALARM_ACCOUNT, Action.READ)
WRITE = scoped(Resource.ALARM_ACCOUNT, Action.WRITE)


@router.get("", **READ)
async def list_alarm_accounts(
    scope: CallerScope,
    svc: Svc,
    page: Paging,
    org_unit_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only this unit's subtree")
    ] = None,
    point_id: Annotated[int | None, Query(ge=1, le=2**62, description="Only this point's")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Account or name contains")] = None,
) -> Page[Account]:
    return await svc.alarm_accounts.list(
        scope, page, org_unit_id=org_unit_id, point_id=point_id, text=q
    )


@router.get("/{account_id}", **READ)
async def get_alarm_account(account_id: RowId, scope: CallerScope, svc: Svc) -> Account:
    return await svc.alarm_accounts.get(scope, account_id)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_alarm_account(draft: AccountDraft, scope: CallerScope, svc: Svc) -> Account:
    return await svc.alarm_accounts.create(scope, draft)


@router.patch("/{account_id}", **WRITE)
async def update_alarm_account(
    account_id: RowId, patch: AccountPatch, scope: CallerScope, svc: Svc
) -> Account:
    return await svc.alarm_accounts.update(scope, account_id, patch)


@router.put("/{account_id}/zones", **WRITE)
async def set_alarm_account_zones(
    account_id: RowId,
    zones: Annotated[list[ZoneDraft], Body(max_length=999, description="The new zone list")],
    scope: CallerScope,
    svc: Svc,
) -> Account:
    """Replace the account's zones with this list."""
    return await svc.alarm_accounts.set_zones(scope, account_id, zones)


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_alarm_account(account_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.alarm_accounts.delete(scope, account_id)
