"""The audit trail of sign-ins, changes, views and exports in the caller's subtree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from safecity.access.models import AuditRecord
from safecity.api.deps import CallerScope, Paging, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", **scoped(Resource.AUDIT, Action.READ))
async def list_audit_records(
    scope: CallerScope,
    svc: Svc,
    page: Paging,
    actor: Annotated[str | None, Query(max_length=100, description="Only this user")] = None,
    action: Annotated[
        str | None, Query(max_length=60, description="Action prefix, e.g. point. or user.signin")
    ] = None,
) -> Page[AuditRecord]:
    """Newest first."""
    return await svc.audit.list(scope, page, actor=actor, action=action)
