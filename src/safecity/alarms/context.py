"""What an alarm-receiving-centre service depends on, and its audit helper.

The alarms package may not import ``org``, so it has its own small context, built once by the
composition root: one audit record per change in the same transaction, one event on the bus
after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.bus.port import EventBus
from safecity.core.clock import Clock
from safecity.core.scope import Scope
from safecity.store.repositories import audit
from safecity.store.repositories.port import Sealer, Transactions


@dataclass
class AlarmContext:
    """Everything an alarm service depends on."""

    db: Transactions
    bus: EventBus
    clock: Clock
    sealer: Sealer


async def record(
    ctx: AlarmContext,
    session: AsyncSession,
    scope: Scope,
    *,
    action: str,
    target: str,
    org_path: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit record inside the caller's transaction."""
    await audit.append_by(
        session,
        scope,
        ctx.clock.now(),
        action=action,
        target=target,
        org_path=org_path,
        detail=detail,
    )
