"""`/api/events`: bus events streamed to a signed-in caller, filtered by its scope.

Browsers cannot set headers on a WebSocket, so the token may come as `?token=`. Each message is
`{"subject": ..., "event": {...}}`. A subscriber that falls behind loses its oldest events (the bus
never blocks publishers for one slow console); the `dropped` count comes with the next message.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Final

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from safecity.api.deps import Services
from safecity.bus.port import Subscription
from safecity.core.errors import AuthenticationFailed
from safecity.core.events import Event, GrantChanged, UserChanged
from safecity.core.policy import Action, Resource, allowed
from safecity.core.scope import Right, Scope

router = APIRouter()
EVENTS_RULE: Final = (Resource.EVENTS, Action.READ)
_POLICY_VIOLATION: Final = 1008


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
    svc: Services = websocket.app.state.services
    header = websocket.headers.get("authorization", "")
    secret = token or header.removeprefix("Bearer ").strip()
    source = websocket.client.host if websocket.client else None
    # Accept before refusing: a browser sees the close code and reason, never a bare HTTP 403.
    await websocket.accept()
    try:
        scope = await svc.tokens.resolve(secret, source)
    except AuthenticationFailed:
        await websocket.close(code=_POLICY_VIOLATION, reason="sign in first")
        return
    if not allowed(scope.role, *EVENTS_RULE):
        await websocket.close(code=_POLICY_VIOLATION, reason="not allowed")
        return
    subscription = svc.bus.subscribe(subjects, buffer=1000)
    reader = asyncio.create_task(_drain(websocket))
    pump = asyncio.create_task(_forward(websocket, subscription, scope, secret, source))
    try:
        # Whichever ends first ends the stream: the client leaving (noticed even while the bus is
        # quiet, so a server shutdown never waits on an idle console) or the forwarder closing.
        await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await subscription.close()
        for task in (pump, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        if websocket.application_state is WebSocketState.CONNECTED:
            # The client may be gone already (the send fails with a disconnect): nothing to say.
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()


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
                await websocket.close(code=_POLICY_VIOLATION, reason="signed out")
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
