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
from safecity.core.errors import AuthenticationFailed
from safecity.core.events import Event
from safecity.core.policy import Action, Resource, allowed
from safecity.core.scope import Scope

router = APIRouter()
EVENTS_RULE: Final = (Resource.EVENTS, Action.READ)
_POLICY_VIOLATION: Final = 1008


def visible(scope: Scope, event: Event) -> bool:
    if scope.covers_path(event.org_path):
        return True
    point_id = getattr(event, "point_id", None)
    return isinstance(point_id, int) and point_id in scope.shared_points


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
    try:
        scope = await svc.tokens.resolve(secret, source)
    except AuthenticationFailed:
        await websocket.close(code=_POLICY_VIOLATION, reason="sign in first")
        return
    if not allowed(scope.role, *EVENTS_RULE):
        await websocket.close(code=_POLICY_VIOLATION, reason="not allowed")
        return
    await websocket.accept()
    subscription = svc.bus.subscribe(subjects, buffer=1000)
    reader = asyncio.create_task(_drain(websocket))
    try:
        async for delivery in subscription:
            if reader.done():
                break
            if visible(scope, delivery.event):
                await websocket.send_json(
                    {
                        "subject": delivery.subject,
                        "event": delivery.event.model_dump(mode="json"),
                        "dropped": subscription.dropped,
                    }
                )
            await subscription.ack(delivery)
    except WebSocketDisconnect:
        pass
    finally:
        await subscription.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader
        if websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):
                await websocket.close()


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client frames so a disconnect is noticed while the bus is quiet."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
