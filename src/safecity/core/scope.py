"""Who may see what: roles, rights, and a caller's scope (an org subtree plus shared points).

Scope is data the feature services filter with; deciding *whether* a role may act is access's job,
filtering *which rows* a caller sees is each service's, both from this one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything inside its subtree, including users and org units
    SUPERVISOR = "supervisor"  # manages points, devices and grants inside its subtree
    OPERATOR = "operator"  # watches and handles alarms inside its subtree
    VIEWER = "viewer"  # reads inside its subtree
    PARTNER = "partner"  # another department: only points shared with it by grants


class Right(StrEnum):
    """What a sharing grant lets a partner department do with a point."""

    LIVE = "live"
    PLAYBACK = "playback"
    EXPORT = "export"
    ALARMS = "alarms"


class Department(StrEnum):
    TRAFFIC = "traffic"
    CITY_MANAGEMENT = "city_management"
    LAW_ENFORCEMENT = "law_enforcement"
    EMERGENCY = "emergency"
    EDUCATION = "education"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Scope:
    """A signed-in caller as the services see it."""

    user_id: int
    username: str
    role: Role
    org_path: str  # "/1/4/": the caller's subtree root; everything whose path starts with it
    shared_points: frozenset[int] = field(default_factory=frozenset)  # partners: granted points
    rights_by_point: dict[int, frozenset[Right]] = field(default_factory=dict)
    source: str | None = None  # client address, for the audit trail

    def covers_path(self, path: str) -> bool:
        """True if an object at org path `path` lies inside the caller's subtree."""
        return self.role is not Role.PARTNER and path.startswith(self.org_path)

    def sees_point(self, point_id: int, path: str) -> bool:
        return self.covers_path(path) or point_id in self.shared_points

    def has_right(self, point_id: int, path: str, right: Right) -> bool:
        if self.covers_path(path):
            return True
        return right in self.rights_by_point.get(point_id, frozenset())
