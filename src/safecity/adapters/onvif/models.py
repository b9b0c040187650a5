"""What an ONVIF camera tells us, as plain frozen values (no zeep objects past the adapter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    """GetDeviceInformation (ONVIF Core §8.3.1)."""

    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware: str


@dataclass(frozen=True, slots=True)
class MediaProfile:
    """One media profile (Media ver10 GetProfiles): its token and video encoder settings.

    Fields a camera leaves out are None; `ptz` says whether the profile has a PTZ
    configuration (PTZ calls name a profile token)."""

    token: str
    name: str
    encoding: str | None
    width: int | None
    height: int | None
    fps: float | None
    bitrate_kbps: int | None
    ptz: bool


@dataclass(frozen=True, slots=True)
class ProfileStream:
    """A profile and its RTSP URI (GetStreamUri, RTP-Unicast over RTSP)."""

    profile: MediaProfile
    uri: str


@dataclass(frozen=True, slots=True)
class PtzVector:
    """Pan and tilt in [-1, 1], zoom in [0, 1] (the generic spaces) or, for moves, speeds."""

    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0

    def request(self) -> dict[str, Any]:
        return {"PanTilt": {"x": self.pan, "y": self.tilt}, "Zoom": {"x": self.zoom}}


@dataclass(frozen=True, slots=True)
class PtzStatus:
    position: PtzVector | None
    moving: bool
    at: datetime | None


@dataclass(frozen=True, slots=True)
class PtzPreset:
    token: str
    name: str
    position: PtzVector | None


def profile_from(value: Any) -> MediaProfile:
    """A zeep `tt:Profile` to a `MediaProfile`, tolerating whatever part a camera omits."""
    encoder = getattr(value, "VideoEncoderConfiguration", None)
    resolution = getattr(encoder, "Resolution", None)
    rate = getattr(encoder, "RateControl", None)
    fps = getattr(rate, "FrameRateLimit", None)
    bitrate = getattr(rate, "BitrateLimit", None)
    width = getattr(resolution, "Width", None)
    height = getattr(resolution, "Height", None)
    encoding = getattr(encoder, "Encoding", None)
    return MediaProfile(
        token=str(value.token),
        name=str(getattr(value, "Name", "") or ""),
        encoding=None if encoding is None else str(encoding),
        width=None if width is None else int(width),
        height=None if height is None else int(height),
        fps=None if fps is None else float(fps),
        bitrate_kbps=None if bitrate is None else int(bitrate),
        ptz=getattr(value, "PTZConfiguration", None) is not None,
    )


def vector_from(value: Any) -> PtzVector | None:
    """A zeep `tt:PTZVector` (PanTilt x y, Zoom x) to a `PtzVector`."""
    if value is None:
        return None
    pan_tilt = getattr(value, "PanTilt", None)
    zoom = getattr(value, "Zoom", None)
    return PtzVector(
        pan=float(getattr(pan_tilt, "x", 0.0) or 0.0),
        tilt=float(getattr(pan_tilt, "y", 0.0) or 0.0),
        zoom=float(getattr(zoom, "x", 0.0) or 0.0),
    )
