"""What PTZ takes and gives: validated commands in, presets out, and the camera it acts on."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PtzMove(_Strict):
    """A continuous move: speeds in the generic velocity space, until a stop or the timeout."""

    pan: float = Field(default=0.0, ge=-1, le=1, description="Pan speed: -1 left .. 1 right")
    tilt: float = Field(default=0.0, ge=-1, le=1, description="Tilt speed: -1 down .. 1 up")
    zoom: float = Field(default=0.0, ge=-1, le=1, description="Zoom speed: -1 out .. 1 in")
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=60,
        description="Stop by itself after this many seconds (the camera's default if omitted)",
    )


class PtzPresetDraft(_Strict):
    name: str = Field(min_length=1, max_length=64, description="The preset's name")


class PtzPosition(BaseModel):
    pan: float
    tilt: float
    zoom: float


class PtzPreset(BaseModel):
    token: str = Field(description="The camera's token for the preset (goto takes it)")
    name: str
    position: PtzPosition | None = None


@dataclass(frozen=True, slots=True)
class PtzCamera:
    """A camera the caller may steer, with its ONVIF address and the device's credentials
    (built by the composition root from the registry; keep it in memory)."""

    id: int
    point_id: int
    org_path: str
    name: str
    onvif_url: str
    username: str | None
    password: str | None = field(repr=False)
    revision: str  # changes whenever the device changes (a cache key)
