"""Sign-in, sign-out, the caller's own identity, and API keys for partner systems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from pydantic import BaseModel, Field, SecretStr

from safecity.access.models import ApiKeyDraft, IssuedToken
from safecity.api.deps import PUBLIC, CallerScope, RowId, Svc, bearer_token, client_address, scoped
from safecity.core.policy import Action, Resource
from safecity.core.scope import Right, Role

router = APIRouter(prefix="/api", tags=["sign-in"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: SecretStr = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    user_id: int
    username: str
    role: Role
    org_path: str
    shared_points: dict[int, list[Right]] = Field(description="Partners: points shared with them")


class ApiKeyIssued(BaseModel):
    id: int
    key: str = Field(description="Shown once; send it as X-API-Key")


@router.post("/auth/login", **PUBLIC)
async def login(credentials: Credentials, request: Request, svc: Svc) -> IssuedToken:
    """Exchange a username and password for a bearer token (rate-limited, with lockout)."""
    return await svc.signin.sign_in(
        credentials.username, credentials.password.get_secret_value(), client_address(request)
    )


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, **scoped(Resource.ME, Action.WRITE)
)
async def logout(
    scope: CallerScope,
    svc: Svc,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Revoke the bearer token this request carries."""
    await svc.signin.sign_out(bearer_token(authorization, None), scope)


@router.get("/auth/me", **scoped(Resource.ME, Action.READ))
async def me(scope: CallerScope) -> Me:
    return Me(
        user_id=scope.user_id,
        username=scope.username,
        role=scope.role,
        org_path=scope.org_path,
        shared_points={p: sorted(r) for p, r in scope.rights_by_point.items()},
    )


@router.post(
    "/api-keys", status_code=status.HTTP_201_CREATED, **scoped(Resource.API_KEY, Action.WRITE)
)
async def create_api_key(draft: ApiKeyDraft, scope: CallerScope, svc: Svc) -> ApiKeyIssued:
    """A long-lived key for a partner system, acting as the given user."""
    secret, key_id = await svc.tokens.create_api_key(scope, draft)
    return ApiKeyIssued(id=key_id, key=secret)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    **scoped(Resource.API_KEY, Action.WRITE),
)
async def revoke_api_key(key_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.tokens.revoke_api_key(scope, key_id)
