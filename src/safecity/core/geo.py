"""WGS84 coordinates, distances, and GCJ-02 conversion for Chinese map tiles.

GCJ-02 is the obfuscated datum every map-tile provider in mainland China must use. The forward
transform is the widely published polynomial approximation (accurate to about a metre); the inverse
is solved by fixed-point iteration on the forward transform. Outside mainland China the two datums
coincide, as the providers' own tiles do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

_A: Final = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE: Final = 0.00669342162296594323  # its first eccentricity squared
_EARTH_RADIUS_M: Final = 6371008.8


@dataclass(frozen=True, slots=True)
class LatLon:
    """A point on the WGS84 ellipsoid, degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"latitude {self.lat} is outside -90..90")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"longitude {self.lon} is outside -180..180")

    def distance_m(self, other: LatLon) -> float:
        """Great-circle distance in metres (haversine)."""
        p1, p2 = math.radians(self.lat), math.radians(other.lat)
        dp = p2 - p1
        dl = math.radians(other.lon - self.lon)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def in_mainland_china(point: LatLon) -> bool:
    """The rough bounding box inside which GCJ-02 applies."""
    return 73.66 < point.lon < 135.05 and 3.86 < point.lat < 53.55


def _delta(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad_lat = math.radians(lat)
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(point: LatLon) -> LatLon:
    """Where a WGS84 point is drawn on GCJ-02 tiles."""
    if not in_mainland_china(point):
        return point
    d_lat, d_lon = _delta(point.lat, point.lon)
    return LatLon(point.lat + d_lat, point.lon + d_lon)


def gcj02_to_wgs84(point: LatLon, *, tolerance_deg: float = 1e-9, max_rounds: int = 30) -> LatLon:
    """The WGS84 point whose GCJ-02 image is `point` (iterative inverse, sub-millimetre)."""
    if not in_mainland_china(point):
        return point
    lat, lon = point.lat, point.lon
    for _ in range(max_rounds):
        image = wgs84_to_gcj02(LatLon(lat, lon))
        err_lat, err_lon = image.lat - point.lat, image.lon - point.lon
        lat, lon = lat - err_lat, lon - err_lon
        if abs(err_lat) < tolerance_deg and abs(err_lon) < tolerance_deg:
            break
    return LatLon(lat, lon)
