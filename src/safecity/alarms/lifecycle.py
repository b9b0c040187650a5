"""An alarm's life, evaluated purely: which state may follow which, and how long handling took.

```
new ──acknowledge──> acknowledged ──dispatch──> dispatched ──arrive──> on_scene
 │                     │                          │                      │
 └──resolve (test, keyholder cancel, technical)   └────────resolve───────┴──> resolved
                       └──resolve (any disposition)
```

An operator claims an alarm by acknowledging it; a patrol is dispatched only to an acknowledged
alarm; any open alarm may be resolved, but one nobody acknowledged only as a test, a keyholder's
cancel or a technical fault (the system resolves restored troubles that way). A resolved alarm is
final. Anything else is a `Conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from safecity.core.errors import Conflict


class AlarmState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"


class Disposition(StrEnum):
    """What the alarm turned out to be."""

    REAL = "real"
    FALSE = "false"
    TEST = "test"
    TECHNICAL = "technical"
    # The keyholder called it off. (Not "cancelled_by_keyholder": alarms.disposition is
    # String(20) in migration 0002.)
    CANCELLED_BY_KEYHOLDER = "keyholder_cancelled"


OPEN_STATES: Final = frozenset(
    {AlarmState.NEW, AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED, AlarmState.ON_SCENE}
)
NEXT: Final[dict[AlarmState, frozenset[AlarmState]]] = {
    AlarmState.NEW: frozenset({AlarmState.ACKNOWLEDGED, AlarmState.RESOLVED}),
    AlarmState.ACKNOWLEDGED: frozenset({AlarmState.DISPATCHED, AlarmState.RESOLVED}),
    AlarmState.DISPATCHED: frozenset({AlarmState.ON_SCENE, AlarmState.RESOLVED}),
    AlarmState.ON_SCENE: frozenset({AlarmState.RESOLVED}),
    AlarmState.RESOLVED: frozenset(),
}
# Resolving an alarm nobody claimed: only what needs no handling.
UNCLAIMED_DISPOSITIONS: Final = frozenset(
    {Disposition.TEST, Disposition.CANCELLED_BY_KEYHOLDER, Disposition.TECHNICAL}
)


def check_transition(
    current: str, target: AlarmState, disposition: Disposition | None = None
) -> AlarmState:
    """The state after moving from `current` to `target`, or `Conflict` if it may not."""
    state = AlarmState(current)
    if target not in NEXT[state]:
        raise Conflict(f"an alarm in state {state} cannot become {target}")
    if target is AlarmState.RESOLVED:
        if disposition is None:
            raise Conflict("resolving an alarm needs a disposition")
        if state is AlarmState.NEW and disposition not in UNCLAIMED_DISPOSITIONS:
            raise Conflict(
                f"acknowledge the alarm before resolving it as {disposition}; unacknowledged "
                "alarms resolve only as test, keyholder_cancelled or technical"
            )
    return target


def is_open(state: str) -> bool:
    return AlarmState(state) in OPEN_STATES


@dataclass(frozen=True, slots=True)
class HandlingTimes:
    """Seconds from raising to each step; None where the step has not happened."""

    to_acknowledge_s: float | None
    to_dispatch_s: float | None
    to_close_s: float | None


def _since(raised_at: datetime, at: datetime | None) -> float | None:
    return None if at is None else max(0.0, (at - raised_at).total_seconds())


def handling_times(
    raised_at: datetime,
    acknowledged_at: datetime | None,
    dispatched_at: datetime | None,
    resolved_at: datetime | None,
) -> HandlingTimes:
    return HandlingTimes(
        to_acknowledge_s=_since(raised_at, acknowledged_at),
        to_dispatch_s=_since(raised_at, dispatched_at),
        to_close_s=_since(raised_at, resolved_at),
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (`fraction` in 0..1) of `values`; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil, at least the first
    return ordered[min(len(ordered), int(rank)) - 1]
