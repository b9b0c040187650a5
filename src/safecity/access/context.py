"""What the access services depend on, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from safecity.bus.port import EventBus
from safecity.core.clock import Clock
from safecity.store.repositories.port import Transactions


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """Session lifetime, account lockout and the per-source sign-in rate limit."""

    token_ttl_s: int = 43_200  # a session token lives 12 hours
    lockout_after: int = 5  # consecutive failed sign-ins that lock the account
    lockout_s: int = 900  # how long a locked account stays locked
    login_per_minute: int = 20  # sign-in attempts one source may make in any 60 s


@dataclass
class AccessContext:
    """Everything an access service depends on."""

    db: Transactions
    bus: EventBus
    clock: Clock
    limits: SignInLimits = field(default_factory=SignInLimits)
