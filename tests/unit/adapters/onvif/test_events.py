"""ONVIF notifications to motion and tamper events: the four topics, their state items,
prefixes a camera chooses, initial states, and everything else ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safecity.adapters.onvif import (
    CameraMotionDetected,
    CameraTamperDetected,
    Notification,
    camera_event,
)
from safecity.adapters.onvif.events import parse_state, topic_path
from safecity.core.errors import RemoteProtocolError

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 1, 12, 0, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("topic", "item", "kind"),
    [
        ("tns1:VideoSource/MotionAlarm", "State", CameraMotionDetected),
        ("tns1:RuleEngine/CellMotionDetector/Motion", "IsMotion", CameraMotionDetected),
        ("tns1:VideoSource/GlobalSceneChange/ImagingService", "State", CameraTamperDetected),
        ("tns1:RuleEngine/TamperDetector/Tamper", "IsTamper", CameraTamperDetected),
    ],
)
@pytest.mark.parametrize(("value", "active"), [("true", True), ("false", False), ("1", True)])
def test_each_topic_maps_to_its_event_with_its_state(
    topic: str, item: str, kind: type, value: str, active: bool
) -> None:
    note = Notification(topic, AT, "Changed", (("Source", "VideoSource_1"),), ((item, value),))
    event = camera_event("10.0.0.7:80", note, LATER)
    assert event is not None
    assert isinstance(event, kind)
    assert (event.camera, event.at, event.active) == ("10.0.0.7:80", AT, active)
    assert (event.source, event.initial) == ("VideoSource_1", False)
    assert event.topic == topic.removeprefix("tns1:")


def test_other_prefixes_and_initial_states_are_understood() -> None:
    note = Notification("tt:RuleEngine/tt:CellMotionDetector/Motion", None, "Initialized",
                        (("Rule", "r1"),), (("IsMotion", "false"),))  # fmt: skip
    event = camera_event("cam", note, LATER)
    assert isinstance(event, CameraMotionDetected)
    assert event.initial
    assert event.at == LATER  # no UtcTime: the time it arrived
    assert event.source == "r1"


def test_a_naive_utc_time_is_taken_as_utc() -> None:
    note = Notification("tns1:VideoSource/MotionAlarm", AT.replace(tzinfo=None), None,
                        data=(("State", "true"),))  # fmt: skip
    event = camera_event("cam", note, LATER)
    assert event is not None
    assert event.at == AT


@pytest.mark.parametrize(
    "note",
    [
        Notification("tns1:Device/Trigger/DigitalInput", AT, None, data=(("LogicalState", "1"),)),
        Notification("tns1:VideoSource/MotionAlarm", AT, "Deleted"),
    ],
)
def test_other_topics_and_stateless_notifications_give_no_event(note: Notification) -> None:
    assert camera_event("cam", note, LATER) is None


def test_a_state_that_is_not_a_boolean_is_a_protocol_error() -> None:
    note = Notification("tns1:VideoSource/MotionAlarm", AT, None, data=(("State", "maybe"),))
    with pytest.raises(RemoteProtocolError):
        camera_event("cam", note, LATER)
    assert parse_state(" TRUE ")


def test_topic_path_drops_every_segment_prefix() -> None:
    assert topic_path("tns1:RuleEngine/tnsx:TamperDetector/Tamper/") == (
        "RuleEngine/TamperDetector/Tamper"
    )
