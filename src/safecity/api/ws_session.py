"""What every WebSocket route does around its own stream: sign the caller in (a token as
`?token=`, since browsers cannot set headers on a WebSocket, or an `Authorization` header), and
end cleanly whichever side stops first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Final

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from safecity.api.deps import Services
from safecity.core.errors import AuthenticationFailed
from safecity.core.scope import Scope

POLICY_VIOLATION: Final = 1008


@dataclass(frozen=True, slots=True)
class Caller:
    scope: Scope
    secret: str  # the token, to resolve the caller again when grants change
    source: str | None  # the client's address, for the audit trail


async def accept_caller(websocket: WebSocket, token: str | None) -> Caller | None:
    """Accept, then resolve the caller; None (the socket closed with 1008) if not signed in.
    Accept before refusing: a browser sees the close code and reason, never a bare HTTP 403."""
    svc: Services = websocket.app.state.services
    header = websocket.headers.get("authorization", "")
    secret = token or header.removeprefix("Bearer ").strip()
    source = websocket.client.host if websocket.client else None
    await websocket.accept()
    try:
        scope = await svc.tokens.resolve(secret, source)
    except AuthenticationFailed:
        await websocket.close(code=POLICY_VIOLATION, reason="sign in first")
        return None
    return Caller(scope=scope, secret=secret, source=source)


async def until_either_ends(websocket: WebSocket, *streams: Coroutine[Any, Any, None]) -> None:
    """Run the streams (a forwarder and a reader of client frames, say) until one ends, then
    stop the rest and close the socket if it is still open."""
    tasks = [asyncio.create_task(stream) for stream in streams]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError
            ):
                await task
        if websocket.application_state is WebSocketState.CONNECTED:
            # The client may be gone already (the send fails with a disconnect): nothing to say.
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()
