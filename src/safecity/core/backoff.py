"""Capped exponential backoff, the one retry rhythm of every device link that reconnects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits of initial, initial x factor, ... up to `max_s` after consecutive failures."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s or self.factor < 1:
            raise ValueError("backoff needs 0 < initial_s <= max_s and factor >= 1")

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th consecutive failure (1-based)."""
        exponent = min(max(0, failures - 1), 64)  # past the cap anyway; no float overflow
        return float(min(self.max_s, self.initial_s * self.factor**exponent))
