"""Sequential confirmation of intruder alarms (EN 50131-9 practice; the Shanghai area-alarm rules
say the same): a burglary alarm followed, within a window, by another burglary alarm of the same
account from a different zone or a different kind of detector is a confirmed intrusion.

Both alarms (and any others of the sequence still open in the window) become `confirmed`, and each
one's priority rises by one class, never above LIFE, once. Pure: the processor hands in the rows
it holds and publishes `AlarmChanged(change="confirmed")` for those this returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from safecity.store.alarm_tables import AlarmRow
from safecity.store.repositories.alarms import utc

BURGLARY_CATEGORIES: Final = frozenset({"burglary"})
LIFE: Final = 1
DEFAULT_WINDOW_S: Final = 600.0


@dataclass(frozen=True, slots=True)
class ConfirmationRules:
    window_s: float = DEFAULT_WINDOW_S  # EN 50131-9 allows 30 to 60 minutes; centres use less


def confirming(
    alarm: AlarmRow,
    others: Iterable[AlarmRow],
    detector_of: Callable[[AlarmRow], str | None],
    rules: ConfirmationRules,
) -> list[AlarmRow]:
    """The open burglary alarms of `alarm`'s account raised within the window before it (or
    at the same time) from another zone or another kind of detector."""
    if alarm.category not in BURGLARY_CATEGORIES:
        return []
    raised = utc(alarm.raised_at)
    window = timedelta(seconds=rules.window_s)
    found = []
    for other in others:
        if other is alarm or other.account_id != alarm.account_id:
            continue
        if other.category not in BURGLARY_CATEGORIES or other.state == "resolved":
            continue
        at = utc(other.raised_at)
        if not (raised - window <= at <= raised):
            continue
        other_zone = other.zone if other.zone is not None else other.partition
        this_zone = alarm.zone if alarm.zone is not None else alarm.partition
        detectors = detector_of(other), detector_of(alarm)
        different_detector = None not in detectors and detectors[0] != detectors[1]
        if other_zone != this_zone or different_detector:
            found.append(other)
    return found


def confirm(rows: Iterable[AlarmRow]) -> list[AlarmRow]:
    """Mark these alarms confirmed, raising each newly confirmed one's priority by one class (not
    above LIFE); returns the ones that changed."""
    changed = []
    for row in rows:
        if row.confirmed:
            continue
        row.confirmed = True
        row.priority = max(LIFE, row.priority - 1)
        changed.append(row)
    return changed
