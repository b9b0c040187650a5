"""WGS84 points, haversine distances and the GCJ-02 datum used by Chinese map tiles."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safecity.core.geo import LatLon, gcj02_to_wgs84, in_mainland_china, wgs84_to_gcj02

SHENZHEN_CIVIC_CENTRE = LatLon(22.5431, 114.0579)
LONDON = LatLon(51.5007, -0.1246)

# Inside the GCJ-02 box with a margin: at the box's edge the datum jumps (tiles do too), so the
# inverse is only defined where a point and its GCJ-02 image both lie inside.
mainland = st.builds(
    LatLon,
    lat=st.floats(min_value=4.0, max_value=53.4),
    lon=st.floats(min_value=73.8, max_value=134.9),
)


@pytest.mark.parametrize(("lat", "lon"), [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])
def test_latlon_accepts_the_bounds(lat: float, lon: float) -> None:
    assert LatLon(lat, lon) == LatLon(lat, lon)


@pytest.mark.parametrize("lat", [90.0001, -90.0001, math.nan, math.inf])
def test_latlon_rejects_a_latitude_outside_minus_90_to_90(lat: float) -> None:
    with pytest.raises(ValueError, match="latitude"):
        LatLon(lat, 0.0)


@pytest.mark.parametrize("lon", [180.0001, -180.0001, math.nan, -math.inf])
def test_latlon_rejects_a_longitude_outside_minus_180_to_180(lon: float) -> None:
    with pytest.raises(ValueError, match="longitude"):
        LatLon(0.0, lon)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert LatLon(0.0, 0.0).distance_m(LatLon(1.0, 0.0)) == pytest.approx(111_195, abs=50)


def test_one_degree_of_longitude_shrinks_with_the_cosine_of_latitude() -> None:
    at_60 = LatLon(60.0, 10.0).distance_m(LatLon(60.0, 11.0))

    assert at_60 == pytest.approx(111_195 * math.cos(math.radians(60.0)), rel=1e-3)


def test_distance_between_antipodes_is_half_the_circumference() -> None:
    assert LatLon(0.0, 0.0).distance_m(LatLon(0.0, 180.0)) == pytest.approx(math.pi * 6371008.8)


def test_distance_from_a_point_to_itself_is_zero() -> None:
    assert SHENZHEN_CIVIC_CENTRE.distance_m(SHENZHEN_CIVIC_CENTRE) == 0.0


@given(mainland, mainland)
def test_distance_is_symmetric(a: LatLon, b: LatLon) -> None:
    assert a.distance_m(b) == pytest.approx(b.distance_m(a), abs=1e-6)


def test_gcj02_shifts_a_shenzhen_point_by_a_few_hundred_metres() -> None:
    shifted = wgs84_to_gcj02(SHENZHEN_CIVIC_CENTRE)

    assert 100 < SHENZHEN_CIVIC_CENTRE.distance_m(shifted) < 700


def test_gcj02_leaves_a_point_outside_china_unchanged() -> None:
    assert not in_mainland_china(LONDON)
    assert wgs84_to_gcj02(LONDON) == LONDON
    assert gcj02_to_wgs84(LONDON) == LONDON


@given(mainland)
def test_gcj02_inverse_returns_within_a_centimetre(point: LatLon) -> None:
    back = gcj02_to_wgs84(wgs84_to_gcj02(point))

    assert point.distance_m(back) < 0.01
