"""A device's ONVIF address: plain http with a host, no credentials in it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from safecity.org.models import DeviceDraft, DeviceKind, DevicePatch


@pytest.mark.parametrize(
    "url", ["http://10.0.0.7/onvif/device_service", "http://cam-7:8080/onvif/device_service"]
)
def test_an_http_device_service_address_is_accepted(url: str) -> None:
    draft = DeviceDraft(point_id=1, kind=DeviceKind.CAMERA, name="c", onvif_url=url)
    assert draft.onvif_url == url
    assert DevicePatch(onvif_url=url).onvif_url == url


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/onvif/device_service",
        "rtsp://10.0.0.7/onvif/device_service",
        "http:///onvif/device_service",
        "http://10.0.0.7:70000/onvif/device_service",
        "http://admin:pw@10.0.0.7/onvif/device_service",
        "10.0.0.7",
    ],
)
def test_other_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="onvif_url"):
        DeviceDraft(point_id=1, kind=DeviceKind.CAMERA, name="c", onvif_url=url)
    with pytest.raises(ValidationError, match="onvif_url"):
        DevicePatch(onvif_url=url)
