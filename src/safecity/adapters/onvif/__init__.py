"""ONVIF cameras through onvif-zeep-async: WS-Discovery, device identity, media profiles and
RTSP stream URIs, PTZ, and motion and tamper events from a PullPoint subscription that
reconnects with capped exponential backoff."""

from safecity.adapters.onvif.camera import OnvifCamera
from safecity.adapters.onvif.discovery import DiscoveredCamera, discover
from safecity.adapters.onvif.events import (
    CameraEvent,
    CameraMotionDetected,
    CameraTamperDetected,
    Notification,
    camera_event,
)
from safecity.adapters.onvif.listener import ListenerStats, OnvifEventListener
from safecity.adapters.onvif.models import (
    DeviceInformation,
    MediaProfile,
    ProfileStream,
    PtzPreset,
    PtzStatus,
    PtzVector,
)
from safecity.adapters.onvif.ptz import PtzControl
from safecity.adapters.onvif.pullpoint import PullPointSubscription

__all__ = [
    "CameraEvent",
    "CameraMotionDetected",
    "CameraTamperDetected",
    "DeviceInformation",
    "DiscoveredCamera",
    "ListenerStats",
    "MediaProfile",
    "Notification",
    "OnvifCamera",
    "OnvifEventListener",
    "ProfileStream",
    "PtzControl",
    "PtzPreset",
    "PtzStatus",
    "PtzVector",
    "PullPointSubscription",
    "camera_event",
    "discover",
]
