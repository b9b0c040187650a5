"""Live-view latency: packet arrival (leaving the demuxer) to WebSocket send, per fragment.

A bounded reservoir of the most recent samples (the benchmark reads quantiles from it) and
running totals; all on the event loop's thread, so no lock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

KEEP: Final = 200_000


@dataclass(frozen=True, slots=True)
class LatencySummary:
    count: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class LatencyStats:
    """Seconds per sample; quantiles over the last `keep` samples."""

    def __init__(self, keep: int = KEEP) -> None:
        self._samples: deque[float] = deque(maxlen=keep)
        self.count = 0

    def observe(self, seconds: float) -> None:
        self._samples.append(seconds)
        self.count += 1

    def reset(self) -> None:
        self._samples.clear()
        self.count = 0

    def samples(self) -> list[float]:
        return list(self._samples)

    def quantile(self, q: float) -> float | None:
        """The `q` quantile (0..1, nearest rank) of the kept samples, in seconds."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        rank = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
        return ordered[rank]

    def summary(self) -> LatencySummary:
        def ms(value: float | None) -> float | None:
            return None if value is None else value * 1000

        top = max(self._samples) if self._samples else None
        return LatencySummary(self.count, ms(self.quantile(0.5)), ms(self.quantile(0.99)), ms(top))
