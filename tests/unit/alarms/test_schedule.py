"""Opening hours evaluated purely: windows, midnight crossings, holidays, graces, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from safecity.alarms.account_models import Schedule
from safecity.alarms.schedule import (
    expected_state,
    late_to_close,
    late_to_open,
    next_change,
    opened_out_of_hours,
    window_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-23 is a Monday.
OFFICE = Schedule.model_validate(
    {
        "weekly": {day: [["08:30", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-11-25"],
        "open_grace_min": 15,
        "close_grace_min": 30,
    }
)
NIGHT_CLUB = Schedule.model_validate({"weekly": {"fri": [["22:00", "04:00"]]}})


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_inside_a_window_is_open_and_outside_is_closed() -> None:
    assert expected_state(OFFICE, local(23, 9)) == "open"
    assert expected_state(OFFICE, local(23, 8, 29)) == "closed"
    assert expected_state(OFFICE, local(23, 18)) == "closed"  # the end is exclusive
    assert expected_state(OFFICE, local(28, 10)) == "closed"  # Saturday


def test_a_holiday_is_closed_all_day() -> None:
    assert expected_state(OFFICE, local(25, 10)) == "closed"
    assert not late_to_open(OFFICE, local(25, 10), opened=False)
    assert expected_state(OFFICE, local(26, 10)) == "open"


def test_a_window_crossing_midnight_runs_into_the_next_day() -> None:
    assert expected_state(NIGHT_CLUB, local(27, 23)) == "open"  # Friday night
    assert expected_state(NIGHT_CLUB, local(28, 3, 59)) == "open"  # Saturday early morning
    assert expected_state(NIGHT_CLUB, local(28, 4)) == "closed"
    assert expected_state(NIGHT_CLUB, local(27, 3)) == "closed"  # Thursday's night: no window
    window = window_at(NIGHT_CLUB, local(28, 1))
    assert window is not None
    assert (window.start, window.end) == (local(27, 22), local(28, 4))


def test_a_holiday_drops_the_window_starting_on_it_even_past_midnight() -> None:
    club = NIGHT_CLUB.model_copy(update={"holidays": [date(2026, 11, 27)]})
    assert expected_state(club, local(28, 1)) == "closed"


def test_midnight_as_24_00_ends_the_day() -> None:
    late = Schedule.model_validate({"weekly": {"mon": [["20:00", "24:00"]]}})
    assert expected_state(late, local(23, 23, 59)) == "open"
    assert expected_state(late, local(24, 0)) == "closed"


def test_late_to_open_only_after_the_grace_and_only_when_still_closed() -> None:
    assert not late_to_open(OFFICE, local(23, 8, 44), opened=False)
    assert late_to_open(OFFICE, local(23, 8, 45), opened=False)
    assert not late_to_open(OFFICE, local(23, 8, 45), opened=True)
    assert not late_to_open(OFFICE, local(23, 19), opened=False)


def test_late_to_close_only_after_the_close_grace_and_only_when_still_open() -> None:
    assert not late_to_close(OFFICE, local(23, 18, 29), closed=False)
    assert late_to_close(OFFICE, local(23, 18, 30), closed=False)
    assert late_to_close(OFFICE, local(24, 2), closed=False)  # still not closed overnight
    assert not late_to_close(OFFICE, local(23, 18, 30), closed=True)
    assert not late_to_close(OFFICE, local(23, 12), closed=False)  # open hours


def test_late_to_close_after_a_window_crossing_midnight() -> None:
    assert not late_to_close(NIGHT_CLUB, local(28, 4, 14), closed=False)
    assert late_to_close(NIGHT_CLUB, local(28, 4, 15), closed=False)


def test_an_opening_out_of_hours_allows_the_graces_either_side() -> None:
    assert opened_out_of_hours(OFFICE, local(23, 3))
    assert not opened_out_of_hours(OFFICE, local(23, 8, 15))  # 15 min early is fine
    assert opened_out_of_hours(OFFICE, local(23, 8, 14))
    assert not opened_out_of_hours(OFFICE, local(23, 18, 29))  # back for the keys
    assert opened_out_of_hours(OFFICE, local(23, 18, 30))
    assert opened_out_of_hours(OFFICE, local(25, 10))  # holiday


def test_instants_in_other_zones_are_read_in_the_schedule_zone() -> None:
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert expected_state(OFFICE, at) == "open"
    london = OFFICE.model_copy(update={"timezone": "Europe/London"})
    assert expected_state(london, at) == "closed"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        expected_state(OFFICE, datetime(2026, 11, 23, 9))  # noqa: DTZ001


def test_next_change_is_the_next_window_edge_or_grace() -> None:
    assert next_change(OFFICE, local(23, 3)) == local(23, 8, 15)
    assert next_change(OFFICE, local(23, 8, 30)) == local(23, 8, 45)
    assert next_change(OFFICE, local(23, 18)) == local(23, 18, 30)
    assert next_change(OFFICE, local(27, 19)) == local(30, 8, 15)  # over the weekend
    assert next_change(Schedule(), local(23, 3)) is None


def test_an_empty_schedule_is_always_closed() -> None:
    empty = Schedule()
    assert expected_state(empty, local(23, 12)) == "closed"
    assert not late_to_close(empty, local(23, 12), closed=False)
    at = local(23, 12)
    assert all(opened_out_of_hours(empty, at + timedelta(hours=h)) for h in range(24))


@pytest.mark.parametrize(
    "bad",
    [
        {"timezone": "Mars/Olympus"},
        {"weekly": {"mon": [["08:00", "08:00"]]}},
        {"weekly": {"mon": [["24:00", "08:00"]]}},
        {"weekly": {"mon": [["8:00", "18:00"]]}},
        {"weekly": {"funday": [["08:00", "18:00"]]}},
        {"open_grace_min": -1},
        {"surprise": 1},
    ],
)
def test_invalid_schedules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(bad)
