"""What the relay publishes for a camera's report, and how it reads a device service URL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safecity.adapters.onvif import CameraMotionDetected, CameraTamperDetected
from safecity.adapters.onvif.relay import OnvifTarget, core_event, service_address
from safecity.core import events
from safecity.core.errors import ConfigError

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TARGET = OnvifTarget(7, 3, "/1/4/", "10.0.0.7", 80, "admin", "pw")


def test_a_motion_report_becomes_a_core_event_of_the_registered_camera() -> None:
    report = CameraMotionDetected(
        "10.0.0.7:80", AT, active=True, topic="VideoSource/MotionAlarm", source="VS_1"
    )
    event = core_event(TARGET, report)
    assert event == events.CameraMotionDetected(
        at=AT, org_path="/1/4/", camera_id=7, point_id=3, active=True, source="VS_1"
    )
    assert events.decode_event(event.model_dump_json().encode()) == event


def test_a_tamper_report_becomes_a_tamper_event() -> None:
    report = CameraTamperDetected(
        "10.0.0.7:80", AT, active=False, topic="RuleEngine/TamperDetector/Tamper"
    )
    event = core_event(TARGET, report)
    assert isinstance(event, events.CameraTamperDetected)
    assert event.subject == "media.camera.tamper"
    assert not event.active


def test_initial_states_are_published_only_when_active() -> None:
    idle = CameraMotionDetected("x", AT, active=False, topic="Motion", initial=True)
    busy = CameraMotionDetected("x", AT, active=True, topic="Motion", initial=True)
    assert core_event(TARGET, idle) is None
    published = core_event(TARGET, busy)
    assert published is not None
    assert getattr(published, "initial", None) is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.0.0.7/onvif/device_service", ("10.0.0.7", 80)),
        ("http://cam.local:8080/onvif/device_service", ("cam.local", 8080)),
        ("http://[fe80::1]:8000/onvif/device_service", ("fe80::1", 8000)),
    ],
)
def test_service_address_is_host_and_port(url: str, expected: tuple[str, int]) -> None:
    assert service_address(url) == expected


@pytest.mark.parametrize(
    "url", ["https://10.0.0.7/", "rtsp://10.0.0.7/", "http:///x", "http://h:99999/"]
)
def test_an_unusable_service_address_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        service_address(url)
