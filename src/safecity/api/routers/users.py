"""Users, each scoped to an org subtree with one role."""

from __future__ import annotations

from fastapi import APIRouter, status

from safecity.access.models import User, UserDraft, UserPatch
from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource

router = APIRouter(prefix="/api/users", tags=["users"])
READ = scoped(Resource.USER, Action.READ)
WRITE = scoped(Resource.USER, Action.WRITE)


@router.get("", **READ)
async def list_users(scope: CallerScope, svc: Svc, page: Paging) -> Page[User]:
    return await svc.users.list(scope, page)


@router.get("/{user_id}", **READ)
async def get_user(user_id: RowId, scope: CallerScope, svc: Svc) -> User:
    return await svc.users.get(scope, user_id)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_user(draft: UserDraft, scope: CallerScope, svc: Svc) -> User:
    return await svc.users.create(scope, draft)


@router.patch("/{user_id}", **WRITE)
async def update_user(user_id: RowId, patch: UserPatch, scope: CallerScope, svc: Svc) -> User:
    return await svc.users.update(scope, user_id, patch)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_user(user_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.users.delete(scope, user_id)
