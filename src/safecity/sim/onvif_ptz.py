"""The simulated camera's PTZ head (ONVIF PTZ Service Specification, ver20 WSDL).

Pan and tilt live in the generic space [-1, 1], zoom in [0, 1]. A ContinuousMove sets a
velocity (units per second in the same spaces) that moves the head until Stop, until its
Timeout, or until a limit; the position is computed from the velocity when asked, so nothing
runs in the background. AbsoluteMove, RelativeMove and GotoPreset arrive at once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from safecity.sim.onvif_soap import SoapFault, child, timestamp

PAN_TILT_SPACE: Final = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
ZOOM_SPACE: Final = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"
MAX_PRESETS: Final = 64
_DURATION: Final = re.compile(
    r"P(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)


@dataclass(frozen=True, slots=True)
class Position:
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0

    def clamped(self) -> Position:
        return Position(_clamp(self.pan, -1, 1), _clamp(self.tilt, -1, 1), _clamp(self.zoom, 0, 1))


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def duration_s(text: str) -> float | None:
    """`PT5S`, `PT1M30S`, `PT0.5S` -> seconds (xs:duration without days), None if unreadable."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class PtzHead:
    """Position, velocity and presets of one camera's PTZ node; `clock` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._base = Position()
        self._since = clock()
        self._velocity = Position()
        self._until: float | None = None
        self.presets: dict[str, tuple[str, Position]] = {}
        self._tokens = itertools.count(1)

    @property
    def moving(self) -> bool:
        """A velocity is set, its timeout has not passed and no axis it drives is at a limit."""
        if self._velocity == Position() or (
            self._until is not None and self._clock() >= self._until
        ):
            return False
        here, speed = self.position(), self._velocity
        axes = (
            (speed.pan, here.pan, -1.0),
            (speed.tilt, here.tilt, -1.0),
            (speed.zoom, here.zoom, 0.0),
        )
        return any((v > 0 and at < 1.0) or (v < 0 and at > low) for v, at, low in axes)

    def position(self) -> Position:
        now = self._clock()
        end = now if self._until is None else min(now, self._until)
        elapsed = max(0.0, end - self._since)
        velocity = self._velocity
        return Position(
            self._base.pan + velocity.pan * elapsed,
            self._base.tilt + velocity.tilt * elapsed,
            self._base.zoom + velocity.zoom * elapsed,
        ).clamped()

    def continuous_move(self, velocity: Position, timeout_s: float | None) -> None:
        self._base = self.position()
        self._since = self._clock()
        self._velocity = velocity
        self._until = None if timeout_s is None else self._since + timeout_s

    def stop(self, *, pan_tilt: bool = True, zoom: bool = True) -> None:
        self._base = self.position()
        self._since = self._clock()
        velocity = self._velocity
        self._velocity = Position(
            0.0 if pan_tilt else velocity.pan,
            0.0 if pan_tilt else velocity.tilt,
            0.0 if zoom else velocity.zoom,
        )

    def move_to(self, position: Position) -> None:
        self.stop()
        self._base = position.clamped()

    def move_by(self, translation: Position) -> None:
        here = self.position()
        self.move_to(
            Position(
                here.pan + translation.pan,
                here.tilt + translation.tilt,
                here.zoom + translation.zoom,
            )
        )

    def set_preset(self, name: str | None, token: str | None) -> str:
        if token is None or not token:
            if len(self.presets) >= MAX_PRESETS:
                raise SoapFault("too many presets", subcode="ter:TooManyPresets", code="s:Receiver")
            token = f"preset_{next(self._tokens)}"
            while token in self.presets:
                token = f"preset_{next(self._tokens)}"
        elif token not in self.presets:
            raise SoapFault(f"no preset {token}", subcode="ter:NoToken")
        self.presets[token] = (name or token, self.position())
        return token

    def goto_preset(self, token: str) -> None:
        preset = self.presets.get(token)
        if preset is None:
            raise SoapFault(f"no preset {token}", subcode="ter:NoToken")
        self.move_to(preset[1])

    def remove_preset(self, token: str) -> None:
        if self.presets.pop(token, None) is None:
            raise SoapFault(f"no preset {token}", subcode="ter:NoToken")


def vector(element: ElementTree.Element | None, default: Position = Position()) -> Position:
    """A PTZVector or PTZSpeed (`PanTilt x= y=`, `Zoom x=`); missing parts keep `default`."""
    if element is None:
        return default
    pan_tilt = child(element, "PanTilt")
    zoom = child(element, "Zoom")
    try:
        return replace(
            default,
            **({} if pan_tilt is None else {
                "pan": float(pan_tilt.get("x", default.pan)),
                "tilt": float(pan_tilt.get("y", default.tilt)),
            }),
            **({} if zoom is None else {"zoom": float(zoom.get("x", default.zoom))}),
        )  # fmt: skip
    except ValueError as exc:
        raise SoapFault(f"bad PTZ vector: {exc}", subcode="ter:InvalidArgVal") from exc


def position_xml(tag: str, position: Position) -> str:
    return (
        f"<{tag}>"
        f'<tt:PanTilt x="{position.pan:.6f}" y="{position.tilt:.6f}"'
        f" space={quoteattr(PAN_TILT_SPACE)}/>"
        f'<tt:Zoom x="{position.zoom:.6f}" space={quoteattr(ZOOM_SPACE)}/>'
        f"</{tag}>"
    )


def status_xml(head: PtzHead, now: datetime) -> str:
    moving = "MOVING" if head.moving else "IDLE"
    return (
        "<tptz:GetStatusResponse><tptz:PTZStatus>"
        + position_xml("tt:Position", head.position())
        + f"<tt:MoveStatus><tt:PanTilt>{moving}</tt:PanTilt><tt:Zoom>{moving}</tt:Zoom>"
        + f"</tt:MoveStatus><tt:UtcTime>{timestamp(now)}</tt:UtcTime>"
        + "</tptz:PTZStatus></tptz:GetStatusResponse>"
    )


def presets_xml(head: PtzHead) -> str:
    return (
        "<tptz:GetPresetsResponse>"
        + "".join(
            f"<tptz:Preset token={quoteattr(token)}><tt:Name>{escape(name)}</tt:Name>"
            + position_xml("tt:PTZPosition", position)
            + "</tptz:Preset>"
            for token, (name, position) in head.presets.items()
        )
        + "</tptz:GetPresetsResponse>"
    )
