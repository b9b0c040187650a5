"""A camera as the media features see it, and how they find one for a caller.

The registry owns cameras; feature packages do not import each other, so the composition root
gives media a `CameraLookup` built from the registry's device service: it answers with the
camera when the caller may see it and raises `NotFound` otherwise, like every lookup here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from safecity.core.scope import Scope


@dataclass(frozen=True, slots=True)
class CameraRef:
    """What evidence needs to know of a camera the caller may see."""

    id: int
    gb_id: str
    point_id: int
    org_path: str
    name: str


CameraLookup = Callable[[Scope, int], Awaitable[CameraRef]]
