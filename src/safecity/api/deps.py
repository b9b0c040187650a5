"""Dependencies every router shares: the services, the caller's scope, paging, scope rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, Header, Path, Query, Request

from safecity.access.audit import AuditService
from safecity.access.grants import GrantService
from safecity.access.signin import SignInService
from safecity.access.tokens import TokenService
from safecity.access.users import UserService
from safecity.alarms.accounts import AccountService
from safecity.alarms.service import AlarmService
from safecity.bus.port import EventBus
from safecity.core.errors import AuthenticationFailed
from safecity.core.paging import PageRequest
from safecity.core.policy import Action, Resource
from safecity.core.scope import Scope
from safecity.media.live import LiveService
from safecity.media.playback import PlaybackDesk
from safecity.media.prealarm import PreAlarmClips
from safecity.org.devices import DeviceService
from safecity.org.exporter import PointExporter
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.ptz.service import PtzService

SCOPE_KEY: Final = "x-scope"


@dataclass(frozen=True)
class Services:
    """What the API calls; built by the composition root (safecity.app)."""

    units: OrgUnitService
    points: PointService
    devices: DeviceService
    exporter: PointExporter
    users: UserService
    signin: SignInService
    tokens: TokenService
    grants: GrantService
    audit: AuditService
    alarm_accounts: AccountService
    alarms: AlarmService
    live: LiveService
    clips: PreAlarmClips
    playback: PlaybackDesk
    ptz: PtzService
    bus: EventBus
    page_size_max: int = 500


def scoped(resource: Resource, action: Action) -> dict[str, Any]:
    """Route metadata naming the scope rule it enforces (the scope test matrix reads it)."""
    return {"openapi_extra": {SCOPE_KEY: {"resource": str(resource), "action": str(action)}}}


PUBLIC: Final[dict[str, Any]] = {"openapi_extra": {SCOPE_KEY: {"resource": "public"}}}


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(authorization: str | None, api_key: str | None) -> str:
    if api_key:
        return api_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    raise AuthenticationFailed("sign in first: send Authorization: Bearer TOKEN or X-API-Key")


async def current_scope(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Scope:
    token = bearer_token(authorization, x_api_key)
    return await services(request).tokens.resolve(token, client_address(request))


def page_request(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Rows per page")] = 50,
) -> PageRequest:
    return PageRequest(offset=offset, limit=min(limit, services(request).page_size_max))


CallerScope = Annotated[Scope, Depends(current_scope)]
RowId = Annotated[int, Path(ge=1, le=2**62, description="Row id")]
Paging = Annotated[PageRequest, Depends(page_request)]
Svc = Annotated[Services, Depends(services)]
