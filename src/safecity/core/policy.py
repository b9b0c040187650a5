"""Which roles may do what to which kind of object: the one table services enforce.

Scope (which rows) is checked separately: an object outside the caller's subtree and grants is
reported as not found, never as forbidden, so its existence does not leak.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from safecity.core.errors import PermissionDenied
from safecity.core.scope import Role, Scope


class Resource(StrEnum):
    ORG_UNIT = "org_unit"
    POINT = "point"
    DEVICE = "device"
    DEVICE_SECRET = "device_secret"  # noqa: S105 (a resource name)
    USER = "user"
    API_KEY = "api_key"
    GRANT = "grant"
    AUDIT = "audit"
    EVENTS = "events"
    ME = "me"
    ALARM_ACCOUNT = "alarm_account"
    ALARM = "alarm"
    LIVE = "live"  # live video and snapshots of a camera
    PLAYBACK = "playback"  # a camera's recording: playlists and recorded files
    PTZ = "ptz"  # steering a camera's head: moves, stops, presets


class Action(StrEnum):
    READ = "read"
    WRITE = "write"


_ALL: Final = frozenset(Role)
_STAFF: Final = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER})
_MANAGERS: Final = frozenset({Role.ADMIN, Role.SUPERVISOR})
_ADMIN: Final = frozenset({Role.ADMIN})
_OPERATORS: Final = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR})

ALLOWED: Final[dict[tuple[Resource, Action], frozenset[Role]]] = {
    (Resource.ORG_UNIT, Action.READ): _STAFF,
    (Resource.ORG_UNIT, Action.WRITE): _ADMIN,
    (Resource.POINT, Action.READ): _ALL,  # partners: only points granted to them
    (Resource.POINT, Action.WRITE): _MANAGERS,
    (Resource.DEVICE, Action.READ): _ALL,  # partners: only devices of granted points
    (Resource.DEVICE, Action.WRITE): _MANAGERS,
    (Resource.DEVICE_SECRET, Action.READ): _ADMIN,
    (Resource.USER, Action.READ): _ADMIN,
    (Resource.USER, Action.WRITE): _ADMIN,
    (Resource.API_KEY, Action.WRITE): _ADMIN,
    (Resource.GRANT, Action.READ): _MANAGERS,
    (Resource.GRANT, Action.WRITE): _MANAGERS,
    (Resource.AUDIT, Action.READ): _MANAGERS,
    (Resource.EVENTS, Action.READ): _ALL,
    (Resource.ME, Action.READ): _ALL,
    (Resource.ME, Action.WRITE): _ALL,
    (Resource.ALARM_ACCOUNT, Action.READ): _STAFF,
    (Resource.ALARM_ACCOUNT, Action.WRITE): _MANAGERS,
    (Resource.ALARM, Action.READ): _ALL,  # partners: only alarms of points granted "alarms"
    (Resource.ALARM, Action.WRITE): _OPERATORS,  # acknowledge, dispatch, resolve
    (Resource.LIVE, Action.READ): _ALL,  # partners: only cameras of points granted "live"
    (Resource.PLAYBACK, Action.READ): _ALL,  # partners: only cameras of points granted "playback"
    # PTZ moves what everyone watching a camera sees: the operators' right, as for alarm handling
    # (viewers and partners only watch). Reading presets goes with driving to them.
    (Resource.PTZ, Action.READ): _OPERATORS,
    (Resource.PTZ, Action.WRITE): _OPERATORS,
}


def allowed(role: Role, resource: Resource, action: Action) -> bool:
    return role in ALLOWED.get((resource, action), frozenset())


def require(scope: Scope, resource: Resource, action: Action) -> None:
    if not allowed(scope.role, resource, action):
        raise PermissionDenied(f"role {scope.role} may not {action} {resource}")
