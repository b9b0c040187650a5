"""The alarm state machine, purely: allowed steps, shortcuts, refusals and handling times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safecity.alarms.lifecycle import (
    AlarmState,
    Disposition,
    check_transition,
    handling_times,
    is_open,
    percentile,
)
from safecity.core.errors import Conflict

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (AlarmState.NEW, AlarmState.ACKNOWLEDGED),
        (AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED),
        (AlarmState.DISPATCHED, AlarmState.ON_SCENE),
    ],
)
def test_the_normal_path_moves_one_step_at_a_time(current: AlarmState, target: AlarmState) -> None:
    assert check_transition(current, target) is target


@pytest.mark.parametrize(
    "current",
    [AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED, AlarmState.ON_SCENE],
)
def test_a_claimed_alarm_resolves_with_any_disposition(current: AlarmState) -> None:
    for disposition in Disposition:
        assert check_transition(current, AlarmState.RESOLVED, disposition) is AlarmState.RESOLVED


@pytest.mark.parametrize(
    "disposition",
    [Disposition.TEST, Disposition.CANCELLED_BY_KEYHOLDER, Disposition.TECHNICAL],
)
def test_an_unclaimed_alarm_resolves_directly_as_test_cancel_or_technical(
    disposition: Disposition,
) -> None:
    assert check_transition("new", AlarmState.RESOLVED, disposition) is AlarmState.RESOLVED


@pytest.mark.parametrize("disposition", [Disposition.REAL, Disposition.FALSE])
def test_an_unclaimed_alarm_cannot_be_closed_as_real_or_false(disposition: Disposition) -> None:
    with pytest.raises(Conflict):
        check_transition("new", AlarmState.RESOLVED, disposition)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (AlarmState.NEW, AlarmState.DISPATCHED),
        (AlarmState.NEW, AlarmState.ON_SCENE),
        (AlarmState.ACKNOWLEDGED, AlarmState.ACKNOWLEDGED),
        (AlarmState.ACKNOWLEDGED, AlarmState.ON_SCENE),
        (AlarmState.ON_SCENE, AlarmState.DISPATCHED),
        (AlarmState.RESOLVED, AlarmState.ACKNOWLEDGED),
        (AlarmState.RESOLVED, AlarmState.RESOLVED),
    ],
)
def test_other_steps_are_conflicts(current: AlarmState, target: AlarmState) -> None:
    with pytest.raises(Conflict):
        check_transition(current, target, Disposition.TEST)


def test_resolving_needs_a_disposition() -> None:
    with pytest.raises(Conflict):
        check_transition("acknowledged", AlarmState.RESOLVED)


def test_only_resolved_alarms_are_closed() -> None:
    assert [s for s in AlarmState if not is_open(s)] == [AlarmState.RESOLVED]


def test_handling_times_count_from_raising() -> None:
    times = handling_times(
        T0, T0 + timedelta(seconds=12), T0 + timedelta(seconds=40), T0 + timedelta(minutes=30)
    )
    assert (times.to_acknowledge_s, times.to_dispatch_s, times.to_close_s) == (12.0, 40.0, 1800.0)


def test_handling_times_of_missing_steps_are_none() -> None:
    times = handling_times(T0, None, None, T0 + timedelta(seconds=5))
    assert (times.to_acknowledge_s, times.to_dispatch_s, times.to_close_s) == (None, None, 5.0)


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None
