"""`safecity alarms tail`: the stream address and one line per alarm event."""

from __future__ import annotations

from typing import Any

from safecity.cli_alarms import events_url, format_event


def test_the_stream_address_follows_the_server_url() -> None:
    assert events_url("http://127.0.0.1:8000", "alarms.>", "t k") == (
        "ws://127.0.0.1:8000/api/events?subjects=alarms.%3E&token=t%20k"
    )
    assert events_url("https://arc.example", "alarms.>", "x").startswith("wss://arc.example/")


RAISED: dict[str, Any] = {
    "subject": "alarms.raised",
    "event": {
        "kind": "alarm_raised",
        "at": "2026-03-01T02:00:03+00:00",
        "alarm_id": 41,
        "account": "1234",
        "code": "130",
        "priority": 2,
        "title_en": "Burglary - zone 15 Back door",
        "title_zh": "盗警 - 防区15 后门",
        "zone": 15,
        "cameras": [7, 9],
    },
}


def test_a_raised_alarm_prints_everything_the_operator_needs() -> None:
    line = format_event(RAISED, {})
    assert line is not None
    for part in ("2026-03-01T02:00:03Z", "P2", "new", "#41", "1234", "130", "盗警", "Burglary"):
        assert part in line
    assert "zone 15" in line
    assert "cams 7,9" in line


def test_a_change_reuses_what_the_raise_said() -> None:
    seen: dict[int, dict[str, Any]] = {}
    format_event(RAISED, seen)
    change = {
        "subject": "alarms.changed.escalated",
        "event": {
            "kind": "alarm_changed",
            "at": "2026-03-01T02:01:03+00:00",
            "alarm_id": 41,
            "change": "escalated",
            "state": "new",
            "priority": 2,
        },
    }
    line = format_event(change, seen)
    assert line is not None
    assert "(escalated)" in line
    assert "1234" in line
    assert "Back door" in line


def test_other_events_print_nothing() -> None:
    assert (
        format_event({"subject": "org.point.created", "event": {"kind": "point_changed"}}, {})
        is None
    )
