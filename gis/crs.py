"""Coordinate reference systems: metric measurement and Chinese web-map offsets.

Storage and the wire use WGS84 (EPSG:4326, lon/lat order). Areas and distances are measured
in the local UTM zone. Data arriving from Chinese web maps is converted explicitly:

* GCJ-02 (国测局坐标, the "Mars" offset used by AMap/高德 and Tencent/腾讯),
* BD-09 (百度坐标, Baidu's further offset on top of GCJ-02).

Every conversion accepts Python floats or numpy arrays (broadcast together). Two scalars give a
``(float, float)`` tuple back; anything else gives a pair of float64 arrays. Outside mainland
China (the usual ``out_of_china`` rectangle) the GCJ-02 offset is not applied, the BD-09 one is.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, TypeVar, overload

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

__all__ = [
    "CRS_NAMES",
    "WGS84_EPSG",
    "area_m2",
    "areas_m2",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_metric",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "project",
    "to_metric",
    "to_wgs84",
    "transformer",
    "utm_epsg_for",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

WGS84_EPSG = 4326

# Krasovsky 1940 ellipsoid as used by the GCJ-02 obfuscation, and Baidu's constant.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# The rectangle the widely used reference implementations treat as "China".
_CHINA_LON = (73.66, 135.05)
_CHINA_LAT = (3.86, 53.55)

# Fixed-point inverse: stop once a step is below this (degrees, ~1e-9 m) or after _MAX_ITER.
_INVERSE_TOL = 1e-14
_MAX_ITER = 30

CRS_NAMES = ("wgs84", "gcj02", "bd09")

Coords = tuple[float, float] | tuple[NDArray[np.float64], NDArray[np.float64]]
G = TypeVar("G", bound=BaseGeometry)


# --------------------------------------------------------------------------------------------
# UTM and metric measurement
# --------------------------------------------------------------------------------------------


def utm_epsg_for(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 / UTM zone (北半球 326xx, 南半球 327xx) containing the point.

    Includes the Norway (32V) and Svalbard (31X-37X) exceptions. Raises ``ValueError`` for
    coordinates that are not finite or out of range.
    """
    lon = float(lon)
    lat = float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"utm_epsg_for: coordinates must be finite, got ({lon}, {lat})")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(
            f"utm_epsg_for: ({lon}, {lat}) is not a lon/lat pair in degrees "
            "(lon in [-180, 180], lat in [-90, 90]); is the data in a projected CRS?"
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        zone = 32
    elif 72.0 <= lat < 84.0 and lon >= 0.0:
        if lon < 9.0:
            zone = 31
        elif lon < 21.0:
            zone = 33
        elif lon < 33.0:
            zone = 35
        elif lon < 42.0:
            zone = 37
    return (32600 if lat >= 0.0 else 32700) + zone


@lru_cache(maxsize=64)
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """Cached pyproj ``Transformer`` between two EPSG codes, always in x/y (lon/lat) order."""
    return Transformer.from_crs(src_epsg, dst_epsg, always_xy=True)


def project(geoms: Any, src_epsg: int, dst_epsg: int) -> Any:
    """Reproject a geometry or an array of geometries from ``src_epsg`` to ``dst_epsg``.

    All coordinates go through one cached pyproj transformer call.
    """
    tr = transformer(src_epsg, dst_epsg)

    def _apply(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _apply)


def _centre_lon_lat(geom: BaseGeometry) -> tuple[float, float]:
    xmin, ymin, xmax, ymax = geom.bounds
    return (xmin + xmax) / 2.0, (ymin + ymax) / 2.0


def to_metric(geom: G, epsg: int | None = None) -> tuple[G, int]:
    """Project a WGS84 geometry into a metric CRS; returns ``(projected, epsg)``.

    Without ``epsg`` the local UTM zone is chosen from the centre of the geometry's bounds.
    Pass the returned code to :func:`from_metric` to come back.
    """
    if geom is None or geom.is_empty:
        raise ValueError("to_metric: geometry is empty; nothing to project")
    if epsg is None:
        epsg = utm_epsg_for(*_centre_lon_lat(geom))
    return project(geom, WGS84_EPSG, epsg), epsg  # type: ignore[return-value]


def from_metric(geom: G, epsg: int) -> G:
    """Project a geometry from the metric CRS ``epsg`` back to WGS84 (EPSG:4326)."""
    return project(geom, epsg, WGS84_EPSG)  # type: ignore[return-value]


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres of a WGS84 geometry, measured in its local UTM zone."""
    if geom is None or geom.is_empty:
        return 0.0
    projected, _ = to_metric(geom)
    return float(projected.area)


def areas_m2(geoms: ArrayLike) -> NDArray[np.float64]:
    """Vectorised :func:`area_m2`: each geometry is measured in the UTM zone of its centre.

    Geometries are grouped by zone and each group is projected in one call. ``None`` and empty
    geometries measure 0.
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    out = np.zeros(len(arr), dtype=np.float64)
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    if not present.any():
        return out.reshape(np.shape(geoms))
    idx = np.flatnonzero(present)
    bounds = shapely.bounds(arr[idx])
    cx = (bounds[:, 0] + bounds[:, 2]) / 2.0
    cy = (bounds[:, 1] + bounds[:, 3]) / 2.0
    zones = np.array([utm_epsg_for(x, y) for x, y in zip(cx, cy, strict=True)])
    for epsg in np.unique(zones):
        sel = idx[zones == epsg]
        out[sel] = shapely.area(project(arr[sel], WGS84_EPSG, int(epsg)))
    return out.reshape(np.shape(geoms))


# --------------------------------------------------------------------------------------------
# GCJ-02 / BD-09
# --------------------------------------------------------------------------------------------


def _as_arrays(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _result(x: NDArray[np.float64], y: NDArray[np.float64], scalar: bool) -> Coords:
    if scalar:
        return float(x), float(y)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _out_of_china(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    inside = (x > _CHINA_LON[0]) & (x < _CHINA_LON[1]) & (y > _CHINA_LAT[0]) & (y < _CHINA_LAT[1])
    return ~inside


@overload
def out_of_china(lon: float, lat: float) -> bool: ...
@overload
def out_of_china(lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]: ...
def out_of_china(lon: ArrayLike, lat: ArrayLike) -> bool | NDArray[np.bool_]:
    """True where the GCJ-02 offset does not apply (outside the mainland China rectangle).

    Uses the rectangle of the common reference implementations: lon 73.66–135.05,
    lat 3.86–53.55 (exclusive). NaN counts as out of China.
    """
    x, y, scalar = _as_arrays(lon, lat)
    res = _out_of_china(x, y)
    return bool(res) if scalar else res


def _gcj_delta(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """GCJ-02 offset (dlon, dlat) in degrees to add to a WGS84 position (no China test)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return _gcj_delta_raw(x, y)


def _gcj_delta_raw(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    px = x - 105.0
    py = y - 35.0
    pi = math.pi
    sqrt_abs_x = np.sqrt(np.abs(px))
    common = (20.0 * np.sin(6.0 * px * pi) + 20.0 * np.sin(2.0 * px * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * px + 3.0 * py + 0.2 * py * py + 0.1 * px * py + 0.2 * sqrt_abs_x
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(py * pi) + 40.0 * np.sin(py / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(py / 12.0 * pi) + 320.0 * np.sin(py * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + px + 2.0 * py + 0.1 * px * px + 0.1 * px * py + 0.1 * sqrt_abs_x
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(px * pi) + 40.0 * np.sin(px / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(px / 12.0 * pi) + 300.0 * np.sin(px / 30.0 * pi)) * 2.0 / 3.0
    radlat = y / 180.0 * pi
    magic = np.sin(radlat)
    magic = 1.0 - _EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _wgs_to_gcj(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    dlon, dlat = _gcj_delta(x, y)
    outside = _out_of_china(x, y)
    return np.where(outside, x, x + dlon), np.where(outside, y, y + dlat)


def _gcj_to_bd(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    x = x - 0.0065
    y = y - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, tx: NDArray, ty: NDArray, x0: NDArray, y0: NDArray) -> tuple[NDArray, NDArray]:
    """Solve ``forward(x, y) == (tx, ty)`` by fixed-point iteration from ``(x0, y0)``.

    Each element iterates on its own (converged elements are frozen), so an element's result
    does not depend on which other elements share the array.
    """
    shape = np.shape(x0)
    tx = np.ravel(tx)
    ty = np.ravel(ty)
    x = np.array(x0, dtype=np.float64, copy=True).ravel()
    y = np.array(y0, dtype=np.float64, copy=True).ravel()
    active = np.isfinite(x) & np.isfinite(y)
    for _ in range(_MAX_ITER):
        if not active.any():
            break
        ax, ay = x[active], y[active]
        fx, fy = forward(ax, ay)
        dx = tx[active] - fx
        dy = ty[active] - fy
        x[active] = ax + dx
        y[active] = ay + dy
        still = (np.abs(dx) > _INVERSE_TOL) | (np.abs(dy) > _INVERSE_TOL)
        active[active] = still
    return x.reshape(shape), y.reshape(shape)


def _gcj_to_wgs(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    outside = _out_of_china(x, y)
    dlon, dlat = _gcj_delta(x, y)
    wx, wy = _invert(_wgs_to_gcj, x, y, x - dlon, y - dlat)
    return np.where(outside, x, wx), np.where(outside, y, wy)


def _bd_to_gcj(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    gx, gy = _bd_to_gcj_approx(x, y)
    return _invert(_gcj_to_bd, x, y, gx, gy)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 → GCJ-02 (国测局 "Mars" coordinates, AMap/Tencent). Unchanged outside China."""
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_wgs_to_gcj(x, y), scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """GCJ-02 → WGS84 by iterating the forward offset to convergence (error far below 1 mm).

    Not the crude one-step inverse (which is off by up to a few metres).
    Unchanged outside China (the test is made on the GCJ-02 input).
    """
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_gcj_to_wgs(x, y), scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """GCJ-02 → BD-09 (百度坐标)."""
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_gcj_to_bd(x, y), scalar)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """BD-09 (百度坐标) → GCJ-02, the usual closed form refined by iteration of the forward."""
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_bd_to_gcj(x, y), scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 → BD-09 (百度坐标), via GCJ-02."""
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_gcj_to_bd(*_wgs_to_gcj(x, y)), scalar)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """BD-09 (百度坐标) → WGS84, via GCJ-02."""
    x, y, scalar = _as_arrays(lon, lat)
    return _result(*_gcj_to_wgs(*_bd_to_gcj(x, y)), scalar)


_ALIASES = {
    "wgs84": "wgs84",
    "epsg4326": "wgs84",
    "gcj02": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
}


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> Coords:
    """Convert coordinates declared as ``crs`` ("wgs84", "gcj02" or "bd09") to WGS84.

    Case, dashes, underscores and colons are ignored ("GCJ-02", "BD09", "EPSG:4326").
    Raises ``ValueError`` naming the accepted values for anything else.
    """
    key = "".join(ch for ch in str(crs).lower() if ch not in "-_: ")
    name = _ALIASES.get(key)
    if name is None:
        raise ValueError(
            f"unknown coordinate system {crs!r}: expected one of "
            f"{', '.join(repr(n) for n in CRS_NAMES)} (WGS84, GCJ-02 for AMap/Tencent, "
            "BD-09 for Baidu)"
        )
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y, scalar = _as_arrays(lon, lat)
    return _result(x.copy(), y.copy(), scalar)
