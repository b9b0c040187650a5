"""Sequential confirmation, purely over alarm rows: which alarms confirm which, and what it does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from safecity.alarms.confirmation import ConfirmationRules, confirm, confirming
from safecity.store.alarm_tables import AlarmRow

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
RULES = ConfirmationRules()


def alarm(
    zone: int | None, *, seconds: float = 0, account: int = 1, category: str = "burglary"
) -> AlarmRow:
    return AlarmRow(
        account_id=account,
        zone=zone,
        partition=1,
        category=category,
        priority=2,
        state="new",
        confirmed=False,
        raised_at=T0 + timedelta(seconds=seconds),
    )


DETECTORS = {1: "pir", 2: "pir", 3: "door_contact"}


def detector(row: AlarmRow) -> str | None:
    return DETECTORS.get(row.zone) if row.zone is not None else None


def test_another_zone_within_the_window_confirms() -> None:
    first, second = alarm(1), alarm(2, seconds=300)
    assert confirming(second, [first, second], detector, RULES) == [first]


def test_the_same_zone_does_not_confirm() -> None:
    first, second = alarm(1), alarm(1, seconds=60)
    assert confirming(second, [first], detector, RULES) == []


def test_a_different_detector_type_confirms_even_without_zone_numbers() -> None:
    kinds = {"a": "pir", "b": "glass_break"}
    first, second = alarm(None), alarm(None, seconds=10)
    rows = {id(first): "a", id(second): "b"}
    assert confirming(second, [first], lambda r: kinds[rows[id(r)]], RULES) == [first]


def test_outside_the_window_or_another_account_or_category_does_not_confirm() -> None:
    late = alarm(2, seconds=601)
    assert confirming(late, [alarm(1)], detector, RULES) == []
    assert confirming(alarm(2), [alarm(1, account=2)], detector, RULES) == []
    assert confirming(alarm(2), [alarm(1, category="tamper")], detector, RULES) == []
    assert confirming(alarm(2, category="fire"), [alarm(1)], detector, RULES) == []


def test_the_window_is_configurable() -> None:
    first, second = alarm(1), alarm(2, seconds=120)
    assert confirming(second, [first], detector, ConfirmationRules(window_s=60)) == []


def test_a_resolved_alarm_does_not_confirm() -> None:
    first = alarm(1)
    first.state = "resolved"
    assert confirming(alarm(2, seconds=5), [first], detector, RULES) == []


def test_confirming_raises_priority_one_class_once_never_above_life() -> None:
    burglary, life = alarm(1), alarm(2)
    life.priority = 1
    assert confirm([burglary, life]) == [burglary, life]
    assert (burglary.priority, life.priority) == (1, 1)
    assert burglary.confirmed
    assert life.confirmed
    assert confirm([burglary]) == []
    assert burglary.priority == 1
