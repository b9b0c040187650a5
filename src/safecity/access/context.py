"""What the access services depend on, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from safecity.bus.port import EventBus
from safecity.core.clock import Clock
from safecity.store.repositories.port import Transactions


@dataclass(frozen=True, slots=True)
class SignInLimits:
    token_ttl_s: int = 43_200
    lockout_after: int = 5
    lockout_s: int = 900
    login_per_minute: int = 20


@dataclass(frozen=True)
class AccessContext:
    db: Transactions
    bus: EventBus
    clock: Clock
    limits: SignInLimits = SignInLimits()
