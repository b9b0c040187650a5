"""Opening hours: when a subscriber's premises are expected open, evaluated purely.

A `Schedule` lists open windows per weekday in its own time zone. A window belongs to the local
date it starts on; one whose end is not after its start runs past midnight into the next day, and
"24:00" ends at midnight. A holiday drops every window that starts on it (closed all day).

The API, all pure functions of a schedule and an aware instant `at`:

- `window_at(schedule, at) -> Window | None`: the open window containing `at`.
- `expected_state(schedule, at) -> "open" | "closed"`.
- `late_to_open(schedule, at, opened) -> bool`: a window began at least `open_grace_min` ago
  and the premises are still not open (`opened` = the panel is disarmed now).
- `late_to_close(schedule, at, closed) -> bool`: the last window ended at least
  `close_grace_min` ago and the premises are still not closed (`closed` = the panel is armed).
- `opened_out_of_hours(schedule, at) -> bool`: an opening (disarm) at `at` falls outside every
  window widened by `open_grace_min` before its start and `close_grace_min` after its end.
- `next_change(schedule, at) -> datetime | None`: the next instant after `at` when one of the
  answers above can change (a window start or end, or either plus its grace), within eight days;
  supervision sleeps until then.

Windows start and end in local wall time; `at` may be in any zone. Windows are looked for from
one day before to eight days after `at`'s local date, so none is longer than a day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from safecity.alarms.account_models import WEEKDAYS, Schedule

State = Literal["open", "closed"]
_HORIZON_DAYS: Final = 8


@dataclass(frozen=True, slots=True)
class Window:
    """One open period, as aware datetimes in the schedule's zone; `start` < `end`."""

    start: datetime
    end: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _clock(text: str) -> tuple[time, int]:
    """("08:30" -> 08:30, 0 extra days); "24:00" is midnight of the next day."""
    if text == "24:00":
        return time(0, 0), 1
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes)), 0


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        raise ValueError("schedule evaluation needs an aware datetime")
    return at.astimezone(zone)


def windows_on(schedule: Schedule, day: date) -> list[Window]:
    """The windows starting on local date `day` (none on a holiday), in start order."""
    if day in schedule.holidays:
        return []
    zone = ZoneInfo(schedule.timezone)
    found: list[Window] = []
    for start_text, end_text in schedule.weekly.get(WEEKDAYS[day.weekday()], []):
        start_clock, _ = _clock(start_text)
        end_clock, extra = _clock(end_text)
        start = datetime.combine(day, start_clock, tzinfo=zone)
        if extra == 0 and end_clock <= start_clock:
            extra = 1  # crosses midnight
        end = datetime.combine(day + timedelta(days=extra), end_clock, tzinfo=zone)
        found.append(Window(start=start, end=end))
    return sorted(found, key=lambda window: window.start)


def _windows_around(schedule: Schedule, at: datetime, before: int, after: int) -> Iterator[Window]:
    today = _local(at, ZoneInfo(schedule.timezone)).date()
    for offset in range(-before, after + 1):
        yield from windows_on(schedule, today + timedelta(days=offset))


def window_at(schedule: Schedule, at: datetime) -> Window | None:
    """The open window containing `at`, if any."""
    for window in _windows_around(schedule, at, 1, 0):
        if at in window:
            return window
    return None


def expected_state(schedule: Schedule, at: datetime) -> State:
    """Whether the premises should be open or closed at `at`."""
    return "open" if window_at(schedule, at) is not None else "closed"


def late_to_open(schedule: Schedule, at: datetime, opened: bool) -> bool:
    """True if a window began at least `open_grace_min` before `at` and they are not open."""
    if opened:
        return False
    window = window_at(schedule, at)
    grace = timedelta(minutes=schedule.open_grace_min)
    return window is not None and at >= window.start + grace


def late_to_close(schedule: Schedule, at: datetime, closed: bool) -> bool:
    """True if the last window ended at least `close_grace_min` before `at`, no window is open
    now, and the premises are still not closed."""
    if closed or window_at(schedule, at) is not None:
        return False
    ended = [window.end for window in _windows_around(schedule, at, 2, 0) if window.end <= at]
    if not ended:
        return False
    return at >= max(ended) + timedelta(minutes=schedule.close_grace_min)


def opened_out_of_hours(schedule: Schedule, at: datetime) -> bool:
    """True if opening the premises at `at` is outside every (grace-widened) window."""
    early = timedelta(minutes=schedule.open_grace_min)
    late = timedelta(minutes=schedule.close_grace_min)
    return not any(
        window.start - early <= at < window.end + late
        for window in _windows_around(schedule, at, 1, 1)
    )


def next_change(schedule: Schedule, at: datetime) -> datetime | None:
    """The first instant after `at` at which any answer of this module may change."""
    open_grace = timedelta(minutes=schedule.open_grace_min)
    close_grace = timedelta(minutes=schedule.close_grace_min)
    candidates = [
        instant
        for window in _windows_around(schedule, at, 1, _HORIZON_DAYS)
        for instant in (
            window.start - open_grace,
            window.start,
            window.start + open_grace,
            window.end,
            window.end + close_grace,
        )
        if instant > at
    ]
    return min(candidates) if candidates else None
