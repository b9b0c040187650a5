"""`/api/events`: bus events streamed to a signed-in caller, filtered by its scope.

Browsers cannot set headers on a WebSocket, so the token may come as `?token=`. Each message is
`{"subject": ..., "event": {...}}`. A subscriber that falls behind loses its oldest events (the bus
never blocks publishers for one slow console); the `dropped` count comes with the next message.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Final

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from safecity.api.deps import Services
from safecity.api.ws_session import POLICY_VIOLATION, accept_caller, until_either_ends
from safecity.bus.port import Subscription
from safecity.core.errors import AuthenticationFailed
from safecity.core.events import Event, GrantChanged, UserChanged
from safecity.core.policy import Action, Resource, allowed
from safecity.core.scope import Right, Scope

router = APIRouter()
EVENTS_RULE: Final = (Resource.EVENTS, Action.READ)


def visible(scope: Scope, event: Event) -> bool:
    """Inside the caller's subtree, or about a point shared with its department; alarm events
    only where the grant carries the alarms right."""
    if scope.covers_path(event.org_path):
        return True
    point_id = getattr(event, "point_id", None)
    if not isinstance(point_id, int):
        return False
    if event.subject.startswith("alarms."):
        return scope.has_right(point_id, event.org_path, Right.ALARMS)
    return point_id in scope.shared_points


@router.websocket("/api/events")
async def events(
    websocket: WebSocket,
    token: Annotated[str | None, Query(max_length=200)] = None,
    subjects: Annotated[str, Query(max_length=200)] = ">",
) -> None:
    caller = await accept_caller(websocket, token)
    if caller is None:
        return
    scope = caller.scope
    if not allowed(scope.role, *EVENTS_RULE):
        await websocket.close(code=POLICY_VIOLATION, reason="not allowed")
        return
    svc: Services = websocket.app.state.services
    subscription = svc.bus.subscribe(subjects, buffer=1000)
    try:
        # Whichever ends first ends the stream: the client leaving (noticed even while the bus is
        # quiet, so a server shutdown never waits on an idle console) or the forwarder closing.
        await until_either_ends(
            websocket,
            _drain(websocket),
            _forward(websocket, subscription, scope, caller.secret, caller.source),
        )
    finally:
        await subscription.close()


async def _forward(
    websocket: WebSocket,
    subscription: Subscription,
    scope: Scope,
    secret: str,
    source: str | None,
) -> None:
    svc: Services = websocket.app.state.services
    async for delivery in subscription:
        if isinstance(delivery.event, UserChanged | GrantChanged):
            # Grants and accounts change under an open console: see with the new scope, and end
            # the stream of a user who was deleted or disabled.
            try:
                scope = await svc.tokens.resolve(secret, source)
            except AuthenticationFailed:
                await websocket.close(code=POLICY_VIOLATION, reason="signed out")
                return
        if visible(scope, delivery.event):
            await websocket.send_json(
                {
                    "subject": delivery.subject,
                    "event": delivery.event.model_dump(mode="json"),
                    "dropped": subscription.dropped,
                }
            )
        await subscription.ack(delivery)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client frames so a disconnect is noticed while the bus is quiet."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
