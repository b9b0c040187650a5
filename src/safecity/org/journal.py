"""The registry's side effects of a change: one audit record in the same transaction, one event
on the bus after the commit."""

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
class RegistryContext:
    """Everything a registry service depends on, built once by the composition root."""

    db: Transactions
    bus: EventBus
    clock: Clock
    sealer: Sealer


async def record(
    ctx: RegistryContext,
    session: AsyncSession,
    scope: Scope,
    *,
    action: str,
    target: str,
    org_path: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await audit.append_by(
        session,
        scope,
        ctx.clock.now(),
        action=action,
        target=target,
        org_path=org_path,
        detail=detail,
    )


def changed_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """What an audit record shows of a patch: field names and new values, secrets masked."""
    return {key: ("***" if key == "password" else value) for key, value in patch.items()}
