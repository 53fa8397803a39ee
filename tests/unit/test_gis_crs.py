"""CRS helpers: UTM zones, metric areas, WGS84 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point, box

from gis import crs
from gis.crs import (
    area_m2,
    areas_m2,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_metric,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_metric,
    to_wgs84,
    utm_epsg_for,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Public test vectors (lon, lat order here).
# eviltransform's test suite: WGS84 -> GCJ-02.
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]
# coordTransform_utils' README, all from the input (128.543, 37.065).
CT_INPUT = (128.543, 37.065)
CT_WGS_TO_GCJ = (128.54820547949757, 37.065651049489816)
CT_GCJ_TO_BD = (128.54944656269413, 37.07113427883019)
CT_BD_TO_GCJ_ONE_STEP = (128.5365893261212, 37.058754503281534)
CT_GCJ_TO_WGS_ONE_STEP = (128.53779452050244, 37.06434895051018)
CT_WGS_TO_BD = (128.55468192918485, 37.07168344938498)


def _metres(dlon: float, dlat: float, lat: float) -> float:
    return math.hypot(dlon * 111_320 * math.cos(math.radians(lat)), dlat * 110_574)


# --------------------------------------------------------------------------------------------
# UTM and areas
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (112.47, 23.05, 32649),  # Zhaoqing: zone 49N
        (116.39, 39.91, 32650),  # Beijing: zone 50N
        (121.47, 31.23, 32651),  # Shanghai: zone 51N
        (-0.1, 51.5, 32630),  # London
        (151.2, -33.9, 32756),  # Sydney: southern hemisphere
        (180.0, 0.0, 32660),  # last zone, not 61
        (-180.0, 0.0, 32601),
        (5.3, 60.4, 32632),  # Bergen: Norway exception
        (15.0, 78.0, 32633),  # Svalbard exception
    ],
)
def test_utm_epsg_for(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg_for(lon, lat) == epsg


@pytest.mark.parametrize(("lon", "lat"), [(math.nan, 23.0), (112.0, math.inf), (500000.0, 2e6)])
def test_utm_epsg_for_rejects_bad_coordinates(lon: float, lat: float) -> None:
    with pytest.raises(ValueError):
        utm_epsg_for(lon, lat)


def test_area_of_a_100_m_square() -> None:
    lat = 23.05
    # Metres per degree at 23.05°N on the WGS84 ellipsoid (series formulas).
    phi = math.radians(lat)
    m_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    m_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    square = box(112.47, lat, 112.47 + 100.0 / m_lon, lat + 100.0 / m_lat)
    # UTM zone 49's scale factor ~150 km from the central meridian is ~0.99988 (area -0.03%).
    assert area_m2(square) == pytest.approx(10_000.0, rel=1e-3)


def test_areas_m2_matches_scalar_and_handles_missing() -> None:
    geoms = [box(112.47, 23.05, 112.48, 23.06), None, box(-0.1, 51.5, -0.09, 51.51), Point(1, 1)]
    got = areas_m2(geoms)
    assert got[0] == pytest.approx(area_m2(geoms[0]), rel=1e-12)
    assert got[1] == 0.0
    assert got[2] == pytest.approx(area_m2(geoms[2]), rel=1e-12)
    assert got[3] == 0.0
    assert got[0] > 1_000_000  # ~1.1 km x 1 km


def test_to_metric_and_back_round_trips() -> None:
    geom = box(112.47, 23.05, 112.48, 23.06)
    projected, epsg = to_metric(geom)
    assert epsg == 32649
    assert 600_000 < projected.bounds[0] < 800_000  # a UTM easting, not degrees
    back = from_metric(projected, epsg)
    assert np.allclose(back.bounds, geom.bounds, atol=1e-9)


def test_transformers_are_cached() -> None:
    assert crs.transformer(4326, 32649) is crs.transformer(4326, 32649)


# --------------------------------------------------------------------------------------------
# GCJ-02 / BD-09
# --------------------------------------------------------------------------------------------


def test_known_beijing_value() -> None:
    lon, lat = wgs84_to_gcj02(116.397428, 39.90923)
    assert lon == pytest.approx(116.403674, abs=1e-5)
    assert lat == pytest.approx(39.910632, abs=1e-5)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_wgs84_to_gcj02_reference_vectors(wgs: tuple, gcj: tuple) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_gcj02_to_wgs84_is_the_exact_inverse(wgs: tuple, gcj: tuple) -> None:
    lon, lat = gcj02_to_wgs84(*gcj)
    assert _metres(lon - wgs[0], lat - wgs[1], wgs[1]) < 0.01
    assert (lon, lat) == pytest.approx(wgs, abs=1e-9)


def test_coordtransform_reference_values() -> None:
    assert wgs84_to_gcj02(*CT_INPUT) == pytest.approx(CT_WGS_TO_GCJ, abs=1e-9)
    assert gcj02_to_bd09(*CT_INPUT) == pytest.approx(CT_GCJ_TO_BD, abs=1e-9)
    assert wgs84_to_bd09(*CT_INPUT) == pytest.approx(CT_WGS_TO_BD, abs=1e-9)
    # The refined inverses stay close to the usual one-step formulas ...
    assert bd09_to_gcj02(*CT_INPUT) == pytest.approx(CT_BD_TO_GCJ_ONE_STEP, abs=5e-6)
    assert gcj02_to_wgs84(*CT_INPUT) == pytest.approx(CT_GCJ_TO_WGS_ONE_STEP, abs=5e-5)
    # ... but, unlike the one-step GCJ inverse (off by ~1.5 m here), they invert the forward.
    lon, lat = gcj02_to_wgs84(*CT_INPUT)
    assert wgs84_to_gcj02(lon, lat) == pytest.approx(CT_INPUT, abs=1e-10)
    fwd = wgs84_to_gcj02(*CT_GCJ_TO_WGS_ONE_STEP)
    assert _metres(fwd[0] - CT_INPUT[0], fwd[1] - CT_INPUT[1], CT_INPUT[1]) > 0.5
    assert gcj02_to_bd09(*bd09_to_gcj02(*CT_INPUT)) == pytest.approx(CT_INPUT, abs=1e-10)
    fwd = gcj02_to_bd09(*CT_BD_TO_GCJ_ONE_STEP)
    assert _metres(fwd[0] - CT_INPUT[0], fwd[1] - CT_INPUT[1], CT_INPUT[1]) > 0.05


def _china_sample(n: int = 20_000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.7, 135.0, n), rng.uniform(3.9, 53.5, n)


def test_gcj02_round_trip_over_china() -> None:
    lon, lat = _china_sample()
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.abs(glon - lon).max() > 1e-4  # the offset really was applied
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 1e-6
    assert np.abs(wlat - lat).max() < 1e-6
    metres = np.hypot((wlon - lon) * 111_320 * np.cos(np.radians(lat)), (wlat - lat) * 110_574)
    assert metres.max() < 0.01


def test_bd09_round_trips() -> None:
    lon, lat = _china_sample(seed=11)
    blon, blat = gcj02_to_bd09(lon, lat)
    glon, glat = bd09_to_gcj02(blon, blat)
    assert np.abs(glon - lon).max() < 1e-8 and np.abs(glat - lat).max() < 1e-8
    blon, blat = wgs84_to_bd09(lon, lat)
    assert np.abs(blon - lon).max() > 1e-3
    wlon, wlat = bd09_to_wgs84(blon, blat)
    assert np.abs(wlon - lon).max() < 1e-6 and np.abs(wlat - lat).max() < 1e-6


@pytest.mark.parametrize(
    ("lon", "lat"), [(-0.1276, 51.5072), (139.69, 35.68), (72.0, 30.0), (100.0, 55.0)]
)
def test_out_of_china_passthrough(lon: float, lat: float) -> None:
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    # BD-09 still applies its own offset on top of the (absent) GCJ one.
    assert wgs84_to_bd09(lon, lat) == pytest.approx(gcj02_to_bd09(lon, lat), abs=0)
    assert bd09_to_wgs84(*wgs84_to_bd09(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)


def test_out_of_china_vectorised() -> None:
    got = out_of_china(np.array([112.47, -0.1, np.nan]), np.array([23.05, 51.5, 23.0]))
    assert got.tolist() == [False, True, True]


@pytest.mark.parametrize(
    "fn",
    [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84],
)
def test_vectorised_equals_scalar(fn) -> None:
    lon, lat = _china_sample(200, seed=3)
    lon = np.append(lon, [-0.1, 139.69])  # include out-of-China points
    lat = np.append(lat, [51.5, 35.68])
    vx, vy = fn(lon, lat)
    assert isinstance(vx, np.ndarray) and vx.shape == lon.shape
    for k in range(len(lon)):
        sx, sy = fn(float(lon[k]), float(lat[k]))
        assert isinstance(sx, float) and isinstance(sy, float)
        assert sx == vx[k] and sy == vy[k]


def test_conversions_broadcast_and_keep_shape() -> None:
    lon = np.full((3, 4), 112.47)
    glon, glat = wgs84_to_gcj02(lon, 23.05)
    assert glon.shape == (3, 4) and glat.shape == (3, 4)
    assert np.all(glon == wgs84_to_gcj02(112.47, 23.05)[0])


def test_non_finite_input_does_not_raise() -> None:
    lon, lat = gcj02_to_wgs84(np.array([np.nan, np.inf, 112.47]), np.array([23.0, 23.0, 23.05]))
    assert np.isnan(lon[0]) and lon[1] == np.inf and np.isfinite(lon[2])
    assert lat[1] == 23.0 and lat[2] != 23.05
    assert all(math.isnan(v) for v in bd09_to_wgs84(math.nan, math.nan))


@pytest.mark.parametrize("name", ["wgs84", "WGS84", "EPSG:4326"])
def test_to_wgs84_identity(name: str) -> None:
    assert to_wgs84(112.47, 23.05, name) == (112.47, 23.05)


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("gcj02", gcj02_to_wgs84),
        ("GCJ-02", gcj02_to_wgs84),
        ("bd09", bd09_to_wgs84),
        ("BD-09", bd09_to_wgs84),
    ],
)
def test_to_wgs84_dispatches(name: str, fn) -> None:
    assert to_wgs84(112.47, 23.05, name) == fn(112.47, 23.05)
    assert to_wgs84(112.47, 23.05, name) != (112.47, 23.05)


@pytest.mark.parametrize("name", ["utm", "bd-11", "", "cgcs2000"])
def test_to_wgs84_rejects_unknown_crs(name: str) -> None:
    with pytest.raises(ValueError, match="gcj02") as err:
        to_wgs84(112.47, 23.05, name)
    assert repr(name) in str(err.value)
